"""Fan-out of server events to every connected WebSocket client."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

_BACKLOG = 256  # events a slow client may fall behind before the oldest are dropped


class Hub:
    """Delivers each published event to every subscriber's queue.

    `publish` may be called from any thread (the worker, the watcher); delivery happens on the event loop.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._queues: set[asyncio.Queue[dict[str, Any]]] = set()

    def subscribe(self) -> asyncio.Queue[dict[str, Any]]:
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=_BACKLOG)
        self._queues.add(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue[dict[str, Any]]) -> None:
        self._queues.discard(queue)

    def publish(self, event: dict[str, Any]) -> None:
        """Queue `event` for every client (thread-safe; a no-op once the loop has closed)."""
        with contextlib.suppress(RuntimeError):  # the loop is shutting down: nobody is listening
            self._loop.call_soon_threadsafe(self._deliver, event)

    def _deliver(self, event: dict[str, Any]) -> None:
        for queue in self._queues:
            if queue.full():  # a stalled client loses its oldest news, never blocks the others
                queue.get_nowait()
            queue.put_nowait(event)
