"""Example apps: ``python -m examples.flask_app`` or ``python -m examples.starlette_app``."""
