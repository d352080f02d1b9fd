"""Reading the panel's pages the way a browser does: forms, their fields, links.

``Form.submission()`` builds what a browser would send when a button is pressed: every
named input, textarea and select (checkboxes only when ticked), plus the pressed button.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

Fields = dict[str, "str | list[str]"]


@dataclass
class Form:
    action: str
    method: str
    fields: list[tuple[str, str]] = field(default_factory=list)
    buttons: list[tuple[str, str]] = field(default_factory=list)

    def value(self, name: str) -> str:
        values = [v for n, v in self.fields if n == name]
        assert len(values) == 1, f"{name!r} appears {len(values)} times in {self.action}"
        return values[0]

    def submission(self, button: tuple[str, str] | None = None, **changes: str) -> Fields:
        """The fields as sent, with ``changes`` (``s0__percent`` for ``s0.percent``) applied
        and ``button`` as the pressed submit button."""
        data: Fields = {}
        for name, value in self.fields:
            present = data.get(name)
            if present is None:
                data[name] = value
            elif isinstance(present, list):
                present.append(value)
            else:
                data[name] = [present, value]
        for key, value in changes.items():
            name = key.replace("__", ".")
            assert (
                name in data
                or name.endswith((".remove", ".digits"))
                or name
                in (
                    "add",
                    "client",
                    "csrf_token",
                    "permanent",
                )
            ), f"{name!r} is not a field of {self.action}"
            data[name] = value
        if button is not None:
            data[button[0]] = button[1]
        return data


class _Parser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[Form] = []
        self.links: list[str] = []
        self._form: Form | None = None
        self._textarea: tuple[str, list[str]] | None = None
        self._select: tuple[str, list[str], list[str]] | None = None  # name, options, chosen
        self._option: tuple[str | None, bool, list[str]] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        for key in ("href", "src", "action"):
            if key in a:
                self.links.append(a[key])
        if tag == "form":
            self._form = Form(a.get("action", ""), a.get("method", "get").lower())
            self.forms.append(self._form)
        if self._form is None:
            return
        name = a.get("name")
        if tag == "input" and name:
            kind = a.get("type", "text").lower()
            if kind in ("checkbox", "radio"):
                if "checked" in a:
                    self._form.fields.append((name, a.get("value", "on")))
            elif kind not in ("submit", "button", "image", "reset"):
                self._form.fields.append((name, a.get("value", "")))
        elif tag == "button" and name:
            self._form.buttons.append((name, a.get("value", "")))
        elif tag == "textarea" and name:
            self._textarea = (name, [])
        elif tag == "select" and name:
            self._select = (name, [], [])
        elif tag == "option" and self._select is not None:
            self._option = (a.get("value"), "selected" in a, [])

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            self._textarea[1].append(data)
        if self._option is not None:
            self._option[2].append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "textarea" and self._textarea is not None and self._form is not None:
            name, parts = self._textarea
            text = "".join(parts)
            self._form.fields.append((name, text[1:] if text.startswith("\n") else text))
            self._textarea = None
        elif tag == "option" and self._option is not None and self._select is not None:
            value, selected, parts = self._option
            option = value if value is not None else "".join(parts).strip()
            self._select[1].append(option)
            if selected:
                self._select[2].append(option)
            self._option = None
        elif tag == "select" and self._select is not None and self._form is not None:
            name, options, chosen = self._select
            if chosen or options:
                self._form.fields.append((name, (chosen or options)[-1 if chosen else 0]))
            self._select = None
        elif tag == "form":
            self._form = None


def parse(page: str) -> _Parser:
    parser = _Parser()
    parser.feed(page)
    parser.close()
    return parser


def forms(page: str) -> list[Form]:
    return parse(page).forms


def form(page: str, action: str) -> Form:
    """The one form of the page posting to ``action``."""
    found = [f for f in forms(page) if f.action == action and f.method == "post"]
    assert len(found) == 1, f"{len(found)} forms post to {action}; actions: " + ", ".join(
        f.action for f in forms(page)
    )
    return found[0]


def links(page: str) -> list[str]:
    """Every href, src and form action of a page."""
    return parse(page).links


def fieldset(page: str, index: int) -> str:
    """The HTML of the strategy fieldset ``id="strategy-<index>"``."""
    match = re.search(
        rf'<fieldset[^>]*\bid="strategy-{index}"[^>]*>(.*?)</fieldset>', page, re.DOTALL
    )
    assert match, f"no fieldset strategy-{index} in the page"
    return match.group(1)


def variants_block(page: str) -> str:
    """The HTML of the variants label: the textarea and the messages beside it."""
    match = re.search(r'<textarea name="variants".*?</label>', page, re.DOTALL)
    assert match, "no variants field in the page"
    return match.group(0)


def errors(page: str) -> list[str]:
    """The texts of the error messages on a page."""
    return [
        html.unescape(re.sub(r"<[^>]+>", "", m))
        for m in re.findall(r'class="(?:notice )?error"[^>]*>(.*?)</(?:p|span|div)>', page, re.S)
    ]
