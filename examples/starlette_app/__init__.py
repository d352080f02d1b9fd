"""The Starlette example: pure ASGI middleware, streaming and background tasks."""
