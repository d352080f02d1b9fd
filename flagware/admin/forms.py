"""The flag edit form: a flag's document turned into form fields and back.

The form round-trips every built-in strategy field, ``when`` conditions and variants; a
strategy type the application registered itself is edited as JSON. Nothing here checks
the rules: the document goes to the store, whose validation is the one source of truth,
and its problems are mapped back onto the fields they name (:func:`problems_by_field`).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "BUILTIN_TYPES",
    "MAX_DIGITS",
    "OPS",
    "BadInput",
    "FlagForm",
    "StrategyForm",
    "fingerprint",
    "parse_scalar",
    "problems_by_field",
    "whole_number",
]

BUILTIN_TYPES = ("percentage", "accounts", "last_digit", "attribute", "schedule", "everyone")
OPS = ("eq", "ne", "in", "not_in", "lt", "lte", "gt", "gte", "contains", "regex")
_NUMBER = re.compile(r"-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?")
MAX_DIGITS = 18  # a 64-bit integer's worth: versions, counts and account numbers fit


class BadInput(ValueError):
    """A submitted value the panel cannot read at all; the request is answered with 400."""


def whole_number(text: object, what: str, *, signed: bool = False) -> int:
    """The one way the panel reads a whole number a browser sent: ASCII digits only, at most
    :data:`MAX_DIGITS` of them (and a leading ``-`` if ``signed``).

    ``str.isdigit()`` is true for ``²`` and ``٣``, which ``int()`` refuses or reads as 3,
    and ``int()`` refuses more than 4,300 digits: raises :class:`BadInput` naming ``what``
    instead, so no odd number becomes a 500.
    """
    if not isinstance(text, str):
        raise BadInput(f"{what} must be a whole number")
    digits = text[1:] if signed and text.startswith("-") else text
    shown = repr(text) if len(text) <= 40 else f"{text[:20]!r}... ({len(text)} characters)"
    if not (digits and digits.isascii() and digits.isdigit()):
        raise BadInput(f"{what} must be a whole number, got {shown} (digits 0-9 only)")
    if len(digits) > MAX_DIGITS:
        raise BadInput(f"{what} must be a whole number of at most {MAX_DIGITS} digits, got {shown}")
    return int(text)


_SPLIT = re.compile(r"[\s,]+")
_PROBLEM_PATH = re.compile(r"^flags(?:\.[^.\[]+|\['[^']*'\])(?:\.(\w+)(?:\[(\d+)\])?)?")


def fingerprint(flag_doc: Mapping[str, Any] | None) -> str:
    """A short digest of a flag's document: what an edit form expects to still be there."""
    canonical = json.dumps(flag_doc, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def parse_scalar(text: str) -> Any:
    """A typed value: numbers, ``true``/``false`` and ``"quoted"`` strings; else the text."""
    text = text.strip()
    if _NUMBER.fullmatch(text) or text in ("true", "false") or text.startswith('"'):
        try:
            return json.loads(text)
        except ValueError:
            return text
    return text


def _show_scalar(value: Any) -> str:
    """The inverse of :func:`parse_scalar`: strings that would read back as another type,
    or that a list of values would split, merge or drop, are quoted."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # 25.0 reads back as 25, validated to 25.0 again
    if (
        isinstance(value, str)
        and value
        and parse_scalar(value) == value
        and not any(char in value for char in ',"')
        and not value.startswith("[")
    ):
        return value
    return json.dumps(value, ensure_ascii=False)


def _show_values(values: Sequence[Any]) -> str:
    return ", ".join(_show_scalar(v) for v in values)


def _parse_values(text: str) -> list[Any]:
    text = text.strip()
    if text.startswith("["):
        try:
            loaded = json.loads(text)
        except ValueError:
            return [text]
        return loaded if isinstance(loaded, list) else [loaded]
    return [parse_scalar(part) for part in _split_commas(text) if part.strip()]


def _split_commas(text: str) -> list[str]:
    """Split on commas outside double quotes (where ``\\"`` does not end the quote)."""
    parts: list[str] = []
    current: list[str] = []
    quoted = escaped = False
    for char in text:
        if escaped:
            escaped = False
        elif char == "\\" and quoted:
            escaped = True
        elif char == '"':
            quoted = not quoted
        if char == "," and not quoted:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return parts


def _show_id(account_id: str) -> str:
    """An account id on its own line; quoted if splitting the line would change it."""
    if _SPLIT.search(account_id) or account_id.startswith('"'):
        return json.dumps(account_id, ensure_ascii=False)
    return account_id


def _parse_ids(text: str) -> list[str]:
    """Account ids one per line, or separated by commas or spaces; a quoted line is one id."""
    ids: list[str] = []
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith('"'):
            try:
                loaded = json.loads(line)
            except ValueError:
                loaded = None
            if isinstance(loaded, str):
                ids.append(loaded)
                continue
        ids.extend(i for i in _SPLIT.split(line) if i)
    return ids


def _show_when(conditions: Sequence[Mapping[str, Any]]) -> str:
    return "\n".join(
        f"{c.get('attribute', '')} {c.get('op', '')} {_show_values(c.get('values', []))}"
        for c in conditions
    )


def _parse_when(text: str) -> list[Any]:
    conditions: list[Any] = []
    for line in text.splitlines():
        if not line.strip():
            continue
        attribute, _, rest = line.strip().partition(" ")
        op, _, values = rest.strip().partition(" ")
        conditions.append({"attribute": attribute, "op": op, "values": _parse_values(values)})
    return conditions


@dataclass
class StrategyForm:
    """One strategy's fields as the form shows them (all strings, as typed)."""

    type: str
    percent: str = ""
    ids: str = ""
    digits: list[int] = field(default_factory=list)
    attribute: str = ""
    op: str = "in"
    values: str = ""
    after: str = ""
    before: str = ""
    params: str = ""
    when: str = ""

    @property
    def builtin(self) -> bool:
        return self.type in BUILTIN_TYPES

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any]) -> StrategyForm:
        kind = str(doc.get("type", ""))
        form = cls(type=kind, when=_show_when(doc.get("when", [])))
        if kind == "percentage":
            form.percent = _show_scalar(doc.get("percent", ""))
        elif kind == "accounts":
            form.ids = "\n".join(_show_id(str(i)) for i in doc.get("ids", []))
        elif kind == "last_digit":
            form.digits = [d for d in doc.get("digits", []) if isinstance(d, int)]
        elif kind == "attribute":
            form.attribute = str(doc.get("attribute", ""))
            form.op = str(doc.get("op", "in"))
            form.values = _show_values(doc.get("values", []))
        elif kind == "schedule":
            form.after, form.before = str(doc.get("after") or ""), str(doc.get("before") or "")
        elif kind != "everyone":
            params = {k: v for k, v in doc.items() if k not in ("type", "when")}
            form.params = json.dumps(params, indent=1, ensure_ascii=False)
        return form

    @classmethod
    def from_fields(cls, fields: Mapping[str, Any], prefix: str) -> StrategyForm:
        """Read ``{prefix}.type``, ``{prefix}.percent``, ... from submitted form fields."""

        def text(name: str) -> str:
            value = fields.get(f"{prefix}.{name}", "")
            return value if isinstance(value, str) else ""

        digits_given = fields.get(f"{prefix}.digits", [])
        digits = [whole_number(d, f"{prefix}.digits") for d in digits_given]
        return cls(
            type=text("type"),
            percent=text("percent"),
            ids=text("ids"),
            digits=sorted(set(digits)),
            attribute=text("attribute").strip(),
            op=text("op"),
            values=text("values"),
            after=text("after").strip(),
            before=text("before").strip(),
            params=text("params"),
            when=text("when"),
        )

    def to_doc(self) -> dict[str, Any]:
        """The strategy's document; values that do not parse are passed on as typed, so the
        store's validation names them."""
        doc: dict[str, Any] = {"type": self.type}
        if self.type == "percentage":
            doc["percent"] = parse_scalar(self.percent)
        elif self.type == "accounts":
            doc["ids"] = _parse_ids(self.ids)
        elif self.type == "last_digit":
            doc["digits"] = self.digits
        elif self.type == "attribute":
            doc.update(attribute=self.attribute, op=self.op, values=_parse_values(self.values))
        elif self.type == "schedule":
            doc.update({k: v for k, v in (("after", self.after), ("before", self.before)) if v})
        elif self.type != "everyone":
            try:
                params = json.loads(self.params or "{}")
            except ValueError as error:
                raise FormError("params", f"not valid JSON: {error}") from None
            if not isinstance(params, dict):
                raise FormError("params", 'must be a JSON object, e.g. {"regions": ["EU"]}')
            doc.update({k: v for k, v in params.items() if k not in ("type", "when")})
        when = _parse_when(self.when)
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
    strategies: list[StrategyForm] = field(default_factory=list)
    variants: str = ""
    keep: dict[str, Any] = field(default_factory=dict)  # fields the form does not edit

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any]) -> FlagForm:
        variants = doc.get("variants") or {}
        return cls(
            description=str(doc.get("description", "")),
            strategies=[StrategyForm.from_doc(s) for s in doc.get("strategies", [])],
            variants="\n".join(f"{name} {_show_scalar(w)}" for name, w in variants.items()),
            keep={k: v for k, v in doc.items() if k in ("enabled", "salt")},
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
            strategies=[s for s in strategies if s.type],
            variants=variants if isinstance(variants, str) else "",
            keep=dict(keep),
        )

    def to_doc(self) -> dict[str, Any]:
        doc: dict[str, Any] = dict(self.keep)
        if self.description:
            doc["description"] = self.description
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
        return doc


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
