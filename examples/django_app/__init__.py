"""The Django example: ``flagware.django`` in a small project (settings, urls, views)."""
