"""Each integration, imported without its framework, says in one line which extra to install."""

from __future__ import annotations

import subprocess
import sys

import pytest

# module -> (the package it needs, the extra that installs it)
INTEGRATIONS = {
    "flagware.flask": ("flask", "flask"),
    "flagware.fastapi": ("fastapi", "fastapi"),
    "flagware.django": ("django", "django"),
    "flagware.openfeature": ("openfeature", "openfeature"),
}

# A None entry in sys.modules makes importing that package raise ImportError, as if it
# were not installed.
PROBE = """\
import sys
sys.modules[{package!r}] = None
try:
    import {module}
except ImportError as exc:
    print(exc)
else:
    print("imported")
"""


@pytest.mark.parametrize("module", sorted(INTEGRATIONS))
def test_a_missing_framework_names_the_extra(module: str) -> None:
    package, extra = INTEGRATIONS[module]
    result = subprocess.run(
        [sys.executable, "-c", PROBE.format(package=package, module=module)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert result.stdout.strip().endswith(f"pip install 'flagware[{extra}]'"), result.stdout
    assert result.stderr == ""


@pytest.mark.parametrize("module", sorted(INTEGRATIONS))
def test_with_the_framework_it_imports(module: str) -> None:
    __import__(module)
