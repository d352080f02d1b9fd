"""``python -m examples.starlette_app``: serve the Starlette example on http://127.0.0.1:8000/."""

from __future__ import annotations

import os

import uvicorn

uvicorn.run(
    "examples.starlette_app.app:app", host="127.0.0.1", port=int(os.environ.get("PORT", "8000"))
)
