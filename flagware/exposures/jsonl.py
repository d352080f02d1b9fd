"""A hook that writes each exposure as one JSON object per line (JSON Lines).

By default the lines go to the ``flagware.exposures`` logger at INFO, so they end up
wherever the application's logging sends them; given a stream or a path, they are
written there instead (a path is opened for appending).
"""

from __future__ import annotations

import json
import logging
import os
import threading
from typing import TextIO

from flagware.exposures._event import Exposure

__all__ = ["JsonLinesHook"]

exposure_logger = logging.getLogger("flagware.exposures")


class JsonLinesHook:
    """Writes ``{"event": "flagware.exposure", "flag": ..., "value": ..., ...}`` lines.

    :param target: a text stream, a path to append to, or None for the logger.
    :param logger: the logger used when ``target`` is None.
    """

    def __init__(
        self,
        target: TextIO | str | os.PathLike[str] | None = None,
        *,
        logger: logging.Logger | None = None,
    ) -> None:
        self._owned: TextIO | None = None
        if isinstance(target, str | os.PathLike):
            self._owned = open(target, "a", encoding="utf-8")  # noqa: SIM115 - closed in close()
            target = self._owned
        self._stream = target
        self._logger = logger or exposure_logger
        self._lock = threading.Lock()

    @staticmethod
    def line(exposure: Exposure) -> str:
        """One exposure as a JSON line (no newline), keys in a fixed order."""
        return json.dumps(
            {"event": "flagware.exposure", **exposure.as_dict()},
            separators=(",", ":"),
            ensure_ascii=False,
        )

    def after_evaluation(self, exposure: Exposure) -> None:
        text = self.line(exposure)
        if self._stream is None:
            self._logger.info("%s", text)
            return
        with self._lock:
            self._stream.write(text + "\n")

    def flush(self) -> None:
        if self._stream is not None:
            with self._lock:
                self._stream.flush()

    def close(self) -> None:
        if self._owned is not None:
            with self._lock:
                self._owned.close()
            self._owned = self._stream = None

    def __repr__(self) -> str:
        where = "logger" if self._stream is None else getattr(self._stream, "name", "stream")
        return f"JsonLinesHook({where})"
