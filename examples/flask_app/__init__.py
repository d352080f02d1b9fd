"""The Flask example: WSGI middleware around ``app.wsgi_app``."""
