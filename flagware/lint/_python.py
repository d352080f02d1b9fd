"""Flag reads in Python source, found in its syntax tree (never by matching text).

Recognised, where the flag name is the first argument (or the subscript):

- ``<any>.is_enabled(name)``, ``<any>.is_released_to(name, ...)``;
- ``<flags>.variant(name)``, ``.reason``, ``.evaluation``, ``.explain``, ``.set`` on a
  receiver named like flags (``flags``, ``request.flags``, ``fs``, ``flagware_flags``,
  ``engine``; see :func:`is_flaggy`) or on ``current_flags()``;
- ``flags[name]`` (also ``request.flags[...]``, ``fs[...]``, ``flagset[...]``);
- ``require_flag(name)`` (FastAPI), ``override_flag(name)`` (Django tests);
- the keys of ``use_flags({...})``, ``FlagSet.from_mapping({...})`` and
  ``@pytest.mark.flagware_flags(name=...)``;
- OpenFeature's ``<any>.get_boolean_value(name, ...)`` and its string, integer, float and
  object twins, ``*_details`` included.

``set`` counts with a value too (``flagware_flags.set("x", True)``), so a context
variable's ``flags_var.set(fs)`` is not read as a flag.

A name that is a string literal, or a module-level ``NAME = "literal"``, is resolved; any
other expression is reported as dynamic.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator

from flagware.lint._references import Reference, is_flaggy

__all__ = ["scan_python"]

_ANY_RECEIVER = frozenset({"is_enabled", "is_released_to"})
_FLAG_RECEIVER = frozenset({"variant", "reason", "evaluation", "explain", "set"})
# A subscript is a read only on the names a FlagSet goes by (a dict named old_flags is not).
_SUBSCRIPTED = frozenset({"flags", "fs", "flagset", "feature_flags", "flagware_flags"})
_FUNCTIONS = frozenset({"require_flag", "override_flag"})
_MAPPINGS = frozenset({"use_flags", "from_mapping", "update"})
_OPENFEATURE = frozenset(
    f"get_{kind}_{what}"
    for kind in ("boolean", "string", "integer", "float", "object")
    for what in ("value", "details")
)
_MARKER = "flagware_flags"


def _last_name(node: ast.expr) -> str | None:
    """``flags`` for ``flags``, ``request.flags``, ``self.flags``, ``current_flags()``."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Call) and not node.args and not node.keywords:
        return _last_name(node.func)
    return None


def _flaggy(node: ast.expr) -> bool:
    name = _last_name(node)
    return name is not None and is_flaggy(name)


def _constants(tree: ast.Module) -> dict[str, str]:
    """Module-level ``NAME = "literal"`` (and annotated) assignments."""
    found: dict[str, str] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target, value = node.targets[0], node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            target, value = node.target, node.value
        else:
            continue
        if isinstance(target, ast.Name):
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                found[target.id] = value.value
            else:  # assigned something else too: not a constant any more
                found.pop(target.id, None)
    return found


class _Visitor(ast.NodeVisitor):
    def __init__(self, path: str, source: str, constants: dict[str, str]) -> None:
        self.path = path
        self.source = source
        self.constants = constants
        self.found: list[Reference] = []

    def _add(self, node: ast.expr, kind: str) -> None:
        name: str | None = None
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            name = node.value
        elif isinstance(node, ast.Name):
            name = self.constants.get(node.id)
        code = "" if name is not None else (ast.get_source_segment(self.source, node) or "")
        self.found.append(Reference(self.path, node.lineno, node.col_offset + 1, name, kind, code))

    def _add_keys(self, mapping: ast.expr, kind: str) -> None:
        if isinstance(mapping, ast.Dict):
            for key in mapping.keys:
                if key is not None:
                    self._add(key, kind)

    def visit_Call(self, node: ast.Call) -> None:
        func, args = node.func, node.args
        first = args[0] if args and not isinstance(args[0], ast.Starred) else None
        if isinstance(func, ast.Attribute):
            method = func.attr
            if (
                first is not None
                and (
                    method in _ANY_RECEIVER
                    or method in _OPENFEATURE
                    or (method in _FLAG_RECEIVER and _flaggy(func.value))
                )
                and (method != "set" or len(args) >= 2)  # not a ContextVar's set(value)
            ):
                self._add(first, "openfeature" if method in _OPENFEATURE else method)
            elif method in _MAPPINGS and (method != "update" or _flaggy(func.value)):
                if first is not None:
                    self._add_keys(first, method)
                self._add_keywords(node, method)
            elif method == _MARKER:  # pytest.mark.flagware_flags(...)
                if first is not None:
                    self._add_keys(first, "marker")
                self._add_keywords(node, "marker")
        elif isinstance(func, ast.Name):
            if func.id in _FUNCTIONS and first is not None:
                self._add(first, func.id)
            elif func.id in _MAPPINGS and first is not None:
                self._add_keys(first, func.id)
        self.generic_visit(node)

    def _add_keywords(self, node: ast.Call, kind: str) -> None:
        for keyword in node.keywords:
            if keyword.arg is not None:
                self.found.append(
                    Reference(self.path, keyword.lineno, keyword.col_offset + 1, keyword.arg, kind)
                )

    def visit_Subscript(self, node: ast.Subscript) -> None:
        if isinstance(node.ctx, ast.Load) and _last_name(node.value) in _SUBSCRIPTED:
            key = node.slice
            if not isinstance(key, ast.Slice | ast.Tuple):
                self._add(key, "subscript")
        self.generic_visit(node)


def scan_python(path: str, source: str) -> Iterator[Reference]:
    """Every flag read in ``source`` (raises SyntaxError for code that does not parse)."""
    tree = ast.parse(source, filename=path)
    visitor = _Visitor(path, source, _constants(tree))
    visitor.visit(tree)
    yield from visitor.found
