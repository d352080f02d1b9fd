"""YAML reading and writing, in a module of its own so that only YAML users import PyYAML.

YAML is read with a safe loader whose booleans are YAML 1.2's (``true``/``false`` only),
so a country list ``[NL, NO]`` stays two strings instead of turning Norway into ``False``.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

__all__ = ["YAMLError", "dump_yaml", "load_yaml"]

YAMLError = yaml.YAMLError

# libyaml's parser when PyYAML has it: PyYAML's pure-Python scanner is quadratic on some
# hostile inputs (a few KB of "[").
_Base: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_Base):  # type: ignore[valid-type,misc]
    """The safe loader with YAML 1.2 booleans."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


def load_yaml(text: str) -> Any:
    """The document in ``text``, read with the safe YAML 1.2-boolean loader."""
    return yaml.load(text, Loader=_Loader)  # _Loader is a SafeLoader


def dump_yaml(doc: dict[str, Any]) -> str:
    """``doc`` as YAML text that reads back to the same document."""
    text: str = yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)
    if "\x85" in text:
        # PyYAML writes NEL (U+0085) as it is inside a quoted string, where reading it
        # back folds it into a space (a salt would change, and with it the rollout). It
        # is the only character that does not round-trip (checked over all of Unicode);
        # without allow_unicode it is escaped, as "\N".
        text = yaml.safe_dump(doc, sort_keys=False, allow_unicode=False)
    return text
