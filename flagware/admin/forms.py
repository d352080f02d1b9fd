"""The flag edit form: a flag's document turned into form fields and back.

Each strategy's inputs come from the fields its class declares
(:class:`~flagware.strategies.base.StrategyField`), so the form knows no strategy type by
name; a type that declares no fields is edited as JSON. ``when`` conditions and variants
round-trip too, and the flag's other keys are kept as they are (:data:`KEPT_KEYS`).

Nothing here checks the rules: the document goes to the store, whose validation is the one
source of truth, and its problems are mapped back onto the fields they name
(:func:`problems_by_field`).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from dataclasses import fields as dataclass_fields
from typing import Any

from flagware.admin.form_text import (
    MAX_DIGITS,
    BadInput,
    parse_scalar,
    parse_when,
    read_field,
    reads_back,
    show_field,
    show_scalar,
    show_when,
    whole_number,
)
from flagware.ruleset.parse import FLAG_KEYS
from flagware.strategies.base import StrategyField
from flagware.strategies.registry import strategy_class

__all__ = [
    "EDITED_KEYS",
    "KEPT_KEYS",
    "MAX_DIGITS",
    "BadInput",
    "FlagForm",
    "StrategyForm",
    "fingerprint",
    "kept",
    "parse_scalar",
    "problems_by_field",
    "whole_number",
]

_PROBLEM_PATH = re.compile(r"^flags(?:\.[^.\[]+|\['[^']*'\])(?:\.(\w+)(?:\[(\d+)\])?)?")


def fingerprint(flag_doc: Mapping[str, Any] | None) -> str:
    """A short digest of a flag's document: what an edit form expects to still be there."""
    canonical = json.dumps(flag_doc, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def _declared(kind: str) -> tuple[StrategyField, ...] | None:
    """The fields the registry's class for ``kind`` declares; None if it declares none (or
    the type is unknown), when the form edits the parameters as JSON."""
    cls = strategy_class(kind)
    return None if cls is None else cls.fields


_STRIPPED = frozenset({"text", "choice", "datetime"})  # kinds read without outer spaces


@dataclass
class StrategyForm:
    """One strategy as the form shows it: its type, the input of each field its class
    declares (text as typed, digits as ticked), or JSON parameters if it declares none,
    and its ``when`` conditions.

    A strategy whose values the fields would not read back exactly (a custom type's value
    of another kind than declared) is edited as JSON too, so a save never changes it.
    """

    type: str
    inputs: dict[str, Any] = field(default_factory=dict)
    params: str = ""
    when: str = ""
    as_json: bool = False

    @property
    def fields(self) -> tuple[StrategyField, ...] | None:
        """The fields shown, or None when the parameters are edited as JSON."""
        return None if self.as_json else _declared(self.type)

    @property
    def note(self) -> str:
        """What the form says about a strategy with no fields (``everyone``)."""
        cls = strategy_class(self.type)
        return cls.note if cls is not None else ""

    def value(self, spec: StrategyField) -> Any:
        """What the input of ``spec`` shows: as typed, else the field's default."""
        default: Any = [] if spec.kind == "digits" else spec.default
        return self.inputs.get(spec.name, default)

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any]) -> StrategyForm:
        kind = str(doc.get("type", ""))
        form = cls(type=kind, when=show_when(doc.get("when", [])))
        params = {k: v for k, v in doc.items() if k not in ("type", "when")}
        declared = _declared(kind)
        if declared is not None:
            names = {spec.name for spec in declared}
            inputs = {s.name: show_field(s, params[s.name]) for s in declared if s.name in params}
            if set(params) <= names and all(
                reads_back(s, params[s.name], read_field(s, inputs[s.name]))
                for s in declared
                if s.name in params
            ):
                form.inputs = inputs
                return form
        form.as_json = True
        form.params = json.dumps(params, indent=1, ensure_ascii=False)
        return form

    @classmethod
    def from_fields(cls, fields: Mapping[str, Any], prefix: str) -> StrategyForm:
        """Read ``{prefix}.type``, ``{prefix}.percent``, ... from submitted form fields."""

        def text(name: str) -> str:
            value = fields.get(f"{prefix}.{name}", "")
            return value if isinstance(value, str) else ""

        kind = text("type")
        declared = _declared(kind)
        if declared is None or f"{prefix}.params" in fields:
            return cls(type=kind, params=text("params"), when=text("when"), as_json=True)
        inputs: dict[str, Any] = {}
        for spec in declared:
            key = f"{prefix}.{spec.name}"
            if spec.kind == "digits":
                given = fields.get(key, [])
                ticked = [given] if isinstance(given, str) else given
                inputs[spec.name] = sorted({whole_number(d, key) for d in ticked})
            else:
                inputs[spec.name] = (
                    text(spec.name).strip() if spec.kind in _STRIPPED else text(spec.name)
                )
        return cls(type=kind, inputs=inputs, when=text("when"))

    def to_doc(self) -> dict[str, Any]:
        """The strategy's document; values that do not parse are passed on as typed, so the
        store's validation names them."""
        doc: dict[str, Any] = {"type": self.type}
        declared = self.fields
        if declared is None:
            try:
                params = json.loads(self.params or "{}")
            except ValueError as error:
                raise FormError("params", f"not valid JSON: {error}") from None
            if not isinstance(params, dict):
                raise FormError("params", 'must be a JSON object, e.g. {"regions": ["EU"]}')
            doc.update({k: v for k, v in params.items() if k not in ("type", "when")})
        else:
            for spec in declared:
                value = read_field(spec, self.value(spec))
                if spec.required or value not in ("", []):
                    doc[spec.name] = value
        when = parse_when(self.when)
        if when:
            doc["when"] = when
        return doc


class FormError(ValueError):
    """A field that cannot even be turned into a document (e.g. JSON that does not parse)."""

    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(message)
        self.field = field_name
        self.message = message


@dataclass
class FlagForm:
    """The whole edit form of one flag."""

    description: str = ""
    client: bool = False  # the value is told to browsers
    strategies: list[StrategyForm] = field(default_factory=list)
    variants: str = ""
    # Lifecycle metadata, as typed: the parser says what is wrong with it, at its path.
    owner: str = ""
    tags: str = ""  # separated by commas or spaces
    permanent: bool = False
    created: str = ""
    expires: str = ""
    keep: dict[str, Any] = field(default_factory=dict)  # fields the form does not edit

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any]) -> FlagForm:
        variants = doc.get("variants") or {}
        return cls(
            description=str(doc.get("description", "")),
            client=doc.get("client") is True,
            strategies=[StrategyForm.from_doc(s) for s in doc.get("strategies", [])],
            variants="\n".join(f"{name} {show_scalar(w)}" for name, w in variants.items()),
            owner=str(doc.get("owner", "")),
            tags=", ".join(map(str, doc.get("tags", []))),
            permanent=doc.get("permanent") is True,
            created=str(doc.get("created", "")),
            expires=str(doc.get("expires", "")),
            keep=kept(doc),
        )

    @classmethod
    def from_fields(cls, fields: Mapping[str, Any], keep: Mapping[str, Any]) -> FlagForm:
        """Read a submitted form; strategies ticked for removal are left out."""
        total = whole_number(fields.get("strategy_count", "0"), "strategy_count")
        strategies = [
            StrategyForm.from_fields(fields, f"s{i}")
            for i in range(min(total, 1000))
            if not fields.get(f"s{i}.remove")
        ]
        description = fields.get("description", "")
        variants = fields.get("variants", "")
        return cls(
            description=description.strip() if isinstance(description, str) else "",
            client=fields.get("client") == "on",
            strategies=[s for s in strategies if s.type],
            variants=variants if isinstance(variants, str) else "",
            owner=_text(fields, "owner"),
            tags=_text(fields, "tags"),
            permanent=fields.get("permanent") == "on",
            created=_text(fields, "created"),
            expires=_text(fields, "expires"),
            keep=dict(keep),
        )

    def to_doc(self) -> dict[str, Any]:
        doc: dict[str, Any] = dict(self.keep)
        if self.description:
            doc["description"] = self.description
        if self.client:
            doc["client"] = True
        strategies = []
        for index, strategy in enumerate(self.strategies):
            try:
                strategies.append(strategy.to_doc())
            except FormError as error:
                raise FormError(f"strategies[{index}].{error.field}", error.message) from None
        doc["strategies"] = strategies
        variants: dict[str, Any] = {}
        for line in self.variants.splitlines():
            if not line.strip():
                continue
            name, _, weight = line.strip().replace(":", " ").partition(" ")
            variants[name] = parse_scalar(weight) if weight.strip() else ""
        if variants:
            doc["variants"] = variants
        for key in ("owner", "created", "expires"):
            if value := getattr(self, key):
                doc[key] = value
        if tags := self.tags.replace(",", " ").split():
            doc["tags"] = tags
        if self.permanent:
            doc["permanent"] = True
        return doc


def _text(fields: Mapping[str, Any], name: str) -> str:
    value = fields.get(name, "")
    return value.strip() if isinstance(value, str) else ""


# The flag keys this form edits are its own fields; it keeps every other key of a flag's
# document as stored (the kill switch, the salt), whatever keys a flag gains later.
EDITED_KEYS: tuple[str, ...] = tuple(f.name for f in dataclass_fields(FlagForm) if f.name != "keep")
KEPT_KEYS: tuple[str, ...] = tuple(k for k in FLAG_KEYS if k not in EDITED_KEYS)


def kept(flag_doc: Mapping[str, Any] | None) -> dict[str, Any]:
    """The keys of a flag's document the form does not edit, as they are."""
    return {k: v for k, v in (flag_doc or {}).items() if k in KEPT_KEYS}


def problems_by_field(problems: Sequence[str], flag: str) -> dict[str, list[str]]:
    """Validation problems keyed by the form part they name: ``strategies[2]``,
    ``variants``, ``description``, or ``""`` for the flag or ruleset as a whole."""
    keyed: dict[str, list[str]] = {}
    prefixes = (f"flags.{flag}", f"flags[{flag!r}]")
    for problem in problems:
        path, _, message = problem.partition(": ")
        key = ""
        if path.startswith(prefixes):
            match = _PROBLEM_PATH.match(path)
            if match and match.group(1):
                key = (
                    match.group(1)
                    if match.group(2) is None
                    else f"{match.group(1)}[{match.group(2)}]"
                )
                rest = path[match.end() :].lstrip(".")
                message = f"{rest}: {message}" if rest else message
        keyed.setdefault(key, []).append(message if key else problem)
    return keyed
