"""Flag reads in Jinja and Django templates: ``{% if flags.new_checkout %}`` and kin.

The ``{{ ... }}`` and ``{% ... %}`` parts of a template hold Python-like expressions in
both languages, so each is read with Python's own tokenizer (no template engine needs to be
installed, and a Django tag Jinja does not know costs nothing). A read is the variable
``flags`` followed by ``.name`` (not one of FlagSet's own attributes), ``["name"]``, or
``.is_enabled("name")`` / ``.variant`` / ``.reason`` / ``.evaluation``.
"""

from __future__ import annotations

import io
import re
import tokenize
from collections.abc import Iterator

from flagware.lint._references import Reference

__all__ = ["TEMPLATE_VARIABLE", "scan_template"]

TEMPLATE_VARIABLE = "flags"
"""The name both the Jinja global and the Django context processor give the flags."""

# Delimiters only: what is between them is tokenized, not matched.
_TAGS = re.compile(r"\{\{(.*?)\}\}|\{%-?(.*?)-?%\}", re.DOTALL)
_METHODS = frozenset({"is_enabled", "variant", "reason", "evaluation"})


def _flagset_attributes() -> frozenset[str]:
    from flagware.engine.flagset import FlagSet  # noqa: PLC0415 - only when templates are read

    return frozenset(name for name in dir(FlagSet) if not name.startswith("_"))


def _tokens(expression: str) -> list[tokenize.TokenInfo]:
    """The expression's tokens, or none when it is not Python-like (a Django tag's text)."""
    wanted = {tokenize.NAME, tokenize.OP, tokenize.STRING, tokenize.NUMBER}
    try:
        tokens = tokenize.generate_tokens(io.StringIO(expression).readline)
        return [token for token in tokens if token.type in wanted]
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return []


def _literal(token: tokenize.TokenInfo) -> str | None:
    """The text of a plain string token (``'x'``, ``"x"``), or None (f-strings, bytes)."""
    text = token.string
    if token.type != tokenize.STRING or text[:1] not in "'\"" or len(text) < 2:
        return None
    return text[1:-1]


def _position(source: str, offset: int) -> tuple[int, int]:
    line = source.count("\n", 0, offset) + 1
    return line, offset - (source.rfind("\n", 0, offset) + 1) + 1


def scan_template(path: str, source: str) -> Iterator[Reference]:
    """Every flag read in the template ``source``."""
    attributes = _flagset_attributes()
    for match in _TAGS.finditer(source):
        group = 1 if match.group(1) is not None else 2
        start = match.start(group)
        expression = match.group(group)
        tokens = _tokens(expression)
        for i, token in enumerate(tokens):
            if token.string != TEMPLATE_VARIABLE or token.type != tokenize.NAME:
                continue
            if i and tokens[i - 1].string == ".":  # x.flags is somebody else's
                continue
            following = tokens[i + 1 : i + 5]
            found = _read(following, attributes)
            if found is None:
                continue
            name, kind, code_token = found
            row, col = code_token.start
            offset = start + sum(len(line) for line in expression.splitlines(True)[: row - 1])
            line, column = _position(source, offset + col)
            code = "" if name is not None else " ".join(expression.split())
            yield Reference(path, line, column, name, kind, code)


def _read(
    tokens: list[tokenize.TokenInfo], attributes: frozenset[str]
) -> tuple[str | None, str, tokenize.TokenInfo] | None:
    """What the tokens after ``flags`` read: (name or None, kind, where), or nothing."""
    if len(tokens) >= 2 and tokens[0].string == "." and tokens[1].type == tokenize.NAME:
        attribute = tokens[1].string
        if attribute not in attributes:
            return attribute, "attribute", tokens[1]
        if attribute in _METHODS and len(tokens) >= 4 and tokens[2].string == "(":
            return _literal(tokens[3]), attribute, tokens[3]
        return None
    if len(tokens) >= 2 and tokens[0].string == "[":
        return _literal(tokens[1]), "subscript", tokens[1]
    return None
