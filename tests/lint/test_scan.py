"""The scanners on real files: every documented read style, in Python and in templates."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from flagware.lint import Reference, scan


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def names(references: tuple[Reference, ...]) -> list[str | None]:
    return [r.name for r in references]


def test_every_python_read_style(tmp_path: Path) -> None:
    write(
        tmp_path,
        "app.py",
        """\
        import flagware
        from flagware import flags

        BETA = "beta_constant"

        def view(request, engine, account, client, fs):
            flagware.flags.is_enabled("one")
            flags["two"]
            request.flags.variant("three")
            fs.reason("four")
            engine.is_released_to("five", account)
            flagware.current_flags().evaluation("six")
            client.get_boolean_value("seven", False)
            client.get_string_details("eight", "x")
            flags.is_enabled(BETA)
            with flagware.use_flags({"nine": True}):
                pass
            require_flag("ten")
            override_flag("eleven", active=True)
        """,
    )
    found = scan([tmp_path])
    assert names(found.references) == [
        "one", "two", "three", "four", "five", "six", "seven", "eight", "beta_constant",
        "nine", "ten", "eleven",
    ]  # fmt: skip
    assert found.files == 1
    assert found.skipped == ()
    first = found.references[0]
    assert (first.path, first.line, first.column, first.kind) == (
        (tmp_path / "app.py").as_posix(),
        7,
        31,
        "is_enabled",
    )


def test_test_helpers_name_flags(tmp_path: Path) -> None:
    write(
        tmp_path,
        "test_app.py",
        """\
        import pytest

        @pytest.mark.flagware_flags(marked=True)
        def test_it(flagware_flags):
            flagware_flags.set("set_one", True)
            flagware_flags.update({"updated": "green"}, keyword_flag=False)
        """,
    )
    assert sorted(n or "" for n in names(scan([tmp_path]).references)) == [
        "keyword_flag", "marked", "set_one", "updated",
    ]  # fmt: skip


def test_lookalikes_are_not_reads(tmp_path: Path) -> None:
    write(
        tmp_path,
        "other.py",
        """\
        settings = {"debug": True}
        settings["debug"]
        builder.variant("green")          # TestData's builder: a variant name, no flag
        td.flag("x").on().variant("red")
        query.explain("analyze")
        flags["written"] = True           # a store, not a read
        flags_var.set(flagset)            # a ContextVar, not flagware_flags.set(name, value)
        old_flags[name]                   # a dict of flags, not a FlagSet
        """,
    )
    assert names(scan([tmp_path]).references) == []


def test_dynamic_names_are_reported_with_their_code(tmp_path: Path) -> None:
    write(
        tmp_path,
        "dyn.py",
        """\
        def view(flags, name, kind):
            flags.is_enabled(name)
            flags[f"beta_{kind}"]
            NOT_CONSTANT = "x"
        NOT_CONSTANT = compute()
        flags.is_enabled(NOT_CONSTANT)
        """,
    )
    found = scan([tmp_path]).references
    assert [(r.name, r.code, r.line) for r in found] == [
        (None, "name", 2),
        (None, 'f"beta_{kind}"', 3),
        (None, "NOT_CONSTANT", 6),
    ]


def test_jinja_and_django_templates(tmp_path: Path) -> None:
    write(
        tmp_path,
        "templates/page.html",
        """\
        {% load static %}{% csrf_token %}
        {% if flags.new_checkout %}<a>new</a>{% endif %}
        {% if not flags.dark_mode and user.is_staff %}dark{% endif %}
        {{ flags["quoted"] }} {{ flags.variant('button') }} {{ flags.is_enabled("called") }}
        {% for name, on in flags.as_dict().items() %}{{ flags.reason(name) }}{% endfor %}
        {{ flags.account.id }} {{ flags|length }} {{ other.flags.nope }}
        {%- if flags.trimmed -%}x{%- endif -%}
        """,
    )
    found = scan([tmp_path]).references
    assert [(r.name, r.kind) for r in found] == [
        ("new_checkout", "attribute"),
        ("dark_mode", "attribute"),
        ("quoted", "subscript"),
        ("button", "variant"),
        ("called", "is_enabled"),
        (None, "reason"),
        ("trimmed", "attribute"),
    ]
    # Where the name is, as for Python reads (the argument, not the receiver).
    assert [(r.line, r.column) for r in found[:2]] == [(2, 13), (3, 17)]


def test_folders_skip_hidden_and_virtualenvs(tmp_path: Path) -> None:
    write(tmp_path, "src/a.py", 'flags.is_enabled("kept")\n')
    write(tmp_path, ".venv/lib/b.py", 'flags.is_enabled("hidden")\n')
    write(tmp_path, "node_modules/c.html", "{{ flags.npm }}\n")
    write(tmp_path, "src/generated/d.py", 'flags.is_enabled("excluded")\n')
    write(tmp_path, "notes.md", 'flags.is_enabled("markdown")\n')
    found = scan([tmp_path], exclude=["*/generated/*"])
    assert names(found.references) == ["kept"]
    assert found.files == 1


def test_unreadable_files_are_skipped_and_named(tmp_path: Path) -> None:
    write(tmp_path, "broken.py", "def (:\n")
    (tmp_path / "latin1.html").write_bytes(b"{{ flags.caf\xe9 }}")
    write(tmp_path, "good.py", 'flags.is_enabled("fine")\n')
    found = scan([tmp_path])
    assert names(found.references) == ["fine"]
    assert sorted(Path(s.path).name for s in found.skipped) == ["broken.py", "latin1.html"]
    assert "SyntaxError" in found.skipped[0].error or "SyntaxError" in found.skipped[1].error


def test_a_missing_path_raises(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no such file or folder"):
        scan([tmp_path / "nope"])
