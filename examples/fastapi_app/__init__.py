"""A FastAPI app: flagware's ASGI middleware, and the flags as a dependency."""
