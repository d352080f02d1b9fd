"""A flag's lifecycle metadata: who owns it, when it was made, when it should go, its tags.

The fields are for people and for ``flagware stale``; evaluation never reads them. They
are validated with the flag (``FlagModel`` inherits :class:`LifecycleFields`), so their
problems carry the flag's path like any other.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictStr,
    WithJsonSchema,
    field_validator,
)
from pydantic_core.core_schema import ValidationInfo

__all__ = ["LIFECYCLE_KEYS", "MAX_TAGS", "TAG", "LifecycleFields", "lifecycle_of"]

TAG = r"^[A-Za-z0-9][A-Za-z0-9_.:/-]{0,39}$"
MAX_TAGS = 20
OWNER = r"^[^\x00-\x1f\x7f]{1,200}$"


def _iso_date(value: Any) -> Any:
    """A date as ``YYYY-MM-DD`` text (YAML and TOML may hand over a date already)."""
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str) and len(value) == 10:
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise ValueError(f"must be an ISO 8601 date (YYYY-MM-DD), got {str(value)[:40]!r}")


IsoDate = Annotated[
    date,
    BeforeValidator(_iso_date),
    WithJsonSchema({"type": "string", "format": "date", "pattern": r"^\d{4}-\d{2}-\d{2}$"}),
]
Tag = Annotated[StrictStr, Field(pattern=TAG)]


class LifecycleFields(BaseModel):
    """The optional lifecycle keys of a flag's document."""

    # What validation says of `permanent` with `expires`, said to schema readers too.
    model_config = ConfigDict(
        json_schema_extra={
            "if": {"properties": {"permanent": {"const": True}}, "required": ["permanent"]},
            "then": {"not": {"required": ["expires"]}},
        }
    )

    owner: Annotated[StrictStr, Field(pattern=OWNER, description="Who to ask.")] | None = None
    tags: Annotated[
        list[Tag], Field(max_length=MAX_TAGS, json_schema_extra={"uniqueItems": True})
    ] = ()  # type: ignore[assignment]  # pydantic would deep-copy a list default per flag
    permanent: Annotated[
        StrictBool, Field(description="An operational switch: never stale, never expires.")
    ] = False
    created: IsoDate | None = None
    expires: IsoDate | None = None

    @field_validator("tags")
    @classmethod
    def _unique(cls, tags: list[str]) -> list[str]:
        repeated = sorted({t for t in tags if tags.count(t) > 1})
        if repeated:
            raise ValueError(f"tags must be unique, repeated: {', '.join(repeated)}")
        return tags

    @field_validator("expires")
    @classmethod
    def _expires(cls, expires: date | None, info: ValidationInfo) -> date | None:
        if expires is None:
            return None
        if info.data.get("permanent"):
            raise ValueError("a permanent flag cannot expire: drop `expires` or `permanent`")
        created = info.data.get("created")
        if created is not None and expires < created:
            raise ValueError(f"`expires` ({expires}) is before `created` ({created})")
        return expires


LIFECYCLE_KEYS: tuple[str, ...] = tuple(LifecycleFields.model_fields)


def lifecycle_of(model: LifecycleFields) -> dict[str, Any]:
    """The :class:`~flagware.Flag` keyword arguments of a validated flag's lifecycle keys."""
    return {
        "owner": model.owner,
        "tags": tuple(model.tags),
        "permanent": model.permanent,
        "created": model.created,
        "expires": model.expires,
    }
