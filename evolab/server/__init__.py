"""`evolab serve`: the REST + WebSocket API over a database file, and the browser UI it serves."""

from evolab.server.app import create_app

__all__ = ["create_app"]
