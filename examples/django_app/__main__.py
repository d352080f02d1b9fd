"""``python -m examples.django_app``: serve the Django example on http://127.0.0.1:8000/.

uvicorn serves the ASGI application (``examples.django_app.asgi:application``);
``gunicorn examples.django_app.wsgi:application`` serves the same project over WSGI.
"""

from __future__ import annotations

import os

import uvicorn

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "examples.django_app.settings")
uvicorn.run(
    "examples.django_app.asgi:application",
    host="127.0.0.1",
    port=int(os.environ.get("PORT", "8000")),
    lifespan="off",  # Django speaks HTTP only
)
