"""Every exposure test starts and ends with no hook, observer or counter on the recorder."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from flagware.exposures import RECORDER


@pytest.fixture(autouse=True)
def clean_recorder() -> Iterator[None]:
    yield
    RECORDER.flush()
    for hook in list(RECORDER._hooks):
        RECORDER.remove_hook(hook)
    for observer in list(RECORDER.observers):
        RECORDER.remove_observer(observer)
    RECORDER.count_reads(False)
    assert not RECORDER.active
