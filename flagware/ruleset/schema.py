"""The JSON Schema of the ruleset document, generated from the validation models.

The package ships it as ``flagware/ruleset/ruleset.schema.json`` for editors and CI
linters (a test keeps the file in sync with this generator; regenerate it with
``python -m flagware.ruleset.schema > flagware/ruleset/ruleset.schema.json``). Validation
itself uses the models, which also check what a schema cannot say: regexes compile,
weights sum to 100, and the document-wide limits of :data:`flagware.ruleset.limits.LIMITS` hold.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

from flagware.ruleset.limits import LIMITS
from flagware.ruleset.parse import FLAG_NAME, DocumentModel, FlagModel, WhenModel
from flagware.ruleset.segments import SegmentModel
from flagware.strategies.conditions import Condition
from flagware.strategies.registry import BUILTIN_STRATEGIES
from flagware.strategies.segment import SEGMENT_NAME

__all__ = ["json_schema", "shipped_schema"]

_ID = "https://flagware.invalid/ruleset.schema.json"


def _model_schema(model: Any, defs: dict[str, Any]) -> dict[str, Any]:
    """A model's schema with its own ``$defs`` hoisted into the shared ones."""
    schema: dict[str, Any] = model.model_json_schema(by_alias=True, ref_template="#/$defs/{model}")
    defs.update(schema.pop("$defs", {}))
    return schema


def json_schema() -> dict[str, Any]:
    """The ruleset document's JSON Schema (draft 2020-12)."""
    defs: dict[str, Any] = {}
    defs["Condition"] = _model_schema(Condition, defs)
    when = _model_schema(WhenModel, defs)["properties"]["when"]
    variants = []
    for name, cls in BUILTIN_STRATEGIES.items():
        schema = _model_schema(cls, defs)
        schema["properties"] = {
            "type": {"const": name},
            **schema.get("properties", {}),
            "when": when,
        }
        schema["required"] = ["type", *schema.get("required", [])]
        schema["additionalProperties"] = False
        defs[f"strategy_{name}"] = schema
        variants.append({"$ref": f"#/$defs/strategy_{name}"})
    custom: dict[str, Any] = {
        "title": "Custom strategy",
        "description": "A type registered by the application with flagware.register_strategy.",
        "type": "object",
        "properties": {
            "type": {"type": "string", "not": {"enum": list(BUILTIN_STRATEGIES)}},
            "when": when,
        },
        "required": ["type"],
    }
    variants.append(custom)
    flag = _model_schema(FlagModel, defs)
    flag["properties"]["strategies"]["items"] = {"anyOf": variants}
    defs["Flag"] = flag
    segment = _model_schema(SegmentModel, defs)
    segment["properties"]["strategies"]["items"] = {"anyOf": variants}
    defs["Segment"] = segment
    top = _model_schema(DocumentModel, defs)
    top["properties"]["flags"] = {
        "type": "object",
        "propertyNames": {"pattern": FLAG_NAME},
        "additionalProperties": {"anyOf": [{"$ref": "#/$defs/Flag"}, {"type": "null"}]},
        "default": {},
    }
    top["properties"]["segments"] = {
        "type": "object",
        "description": "Named audiences a flag's `segment` strategy refers to.",
        "propertyNames": {"pattern": SEGMENT_NAME},
        "additionalProperties": {"$ref": "#/$defs/Segment"},
        "maxProperties": LIMITS["segments"],
        "default": {},
    }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": _ID,
        "title": "flagware ruleset",
        "$comment": (
            "Limits a schema cannot express (the document's size, totals over the whole "
            "ruleset, the compiled size of regexes) are checked by flagware's validation; "
            "see flagware.ruleset.limits.LIMITS"
        ),
        **top,
        "$defs": dict(sorted(defs.items())),
    }


def shipped_schema() -> dict[str, Any]:
    """The schema file shipped in the package."""
    text = resources.files("flagware.ruleset").joinpath("ruleset.schema.json").read_text("utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded


if __name__ == "__main__":
    print(json.dumps(json_schema(), indent=2, sort_keys=False))
