"""``python -m examples.flask_app``: serve the Flask example on http://127.0.0.1:8000/."""

from __future__ import annotations

import os

from examples.flask_app.app import app

app.run(host="127.0.0.1", port=int(os.environ.get("PORT", "8000")))
