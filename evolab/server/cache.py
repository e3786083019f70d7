"""Rendered bodies of the documents that never change once stored (a generation's cards, a replay), kept
in a small LRU so a second request for one costs a lookup, with the ETag that lets a browser skip it.

A stored generation is immutable, but its run can be deleted, truncated (`evolab evolve --resume` from an
earlier checkpoint) and written again, by this server or by another process, and nothing tells this one.
So every entry carries a `token` read from the database on each request, in the same reads that decide
the 404s: the run's creation time and backend and the generation's whole statistics row. A rewritten
generation differs in its measured `sim_seconds` and `host_seconds` at least, so a stale body is never
served; a deleted run answers 404 before the cache is consulted.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass

from fastapi import Request, Response

MAX_BYTES = 64 * 2**20
"""Bodies kept in all: about 600 generations' cards or 3,000 replays of the default preset."""


@dataclass(frozen=True, slots=True)
class CachedBody:
    """A rendered JSON body, the token it was rendered under and its ETag."""

    token: object
    body: bytes
    etag: str


class ResponseCache:
    """A thread-safe LRU of rendered bodies by key, bounded by their total size in bytes.

    Args:
        max_bytes: the most body bytes kept; the least recently used go first. A body larger than this
            is never kept.
    """

    def __init__(self, max_bytes: int = MAX_BYTES) -> None:
        self._max_bytes = max_bytes
        self._bytes = 0
        self._entries: OrderedDict[Hashable, CachedBody] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable, token: object) -> CachedBody | None:
        """The body kept for `key` if it was rendered under an equal `token`; a stale one is dropped."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            if entry.token != token:
                self._drop(key)
                return None
            self._entries.move_to_end(key)
            return entry

    def put(self, key: Hashable, token: object, body: bytes) -> CachedBody:
        """Keep `body` for `key` under `token` (replacing what was there) and return it with its ETag."""
        entry = CachedBody(token, body, f'"{hashlib.blake2b(body, digest_size=12).hexdigest()}"')
        with self._lock:
            if key in self._entries:
                self._drop(key)
            if len(body) <= self._max_bytes:
                self._entries[key] = entry
                self._bytes += len(body)
                while self._bytes > self._max_bytes:
                    self._drop(next(iter(self._entries)))
        return entry

    def forget_run(self, run_id: str) -> None:
        """Drop every body of `run_id` (keys start with the run id): memory back at once after a delete."""
        with self._lock:
            for key in [k for k in self._entries if isinstance(k, tuple) and k and k[0] == run_id]:
                self._drop(key)

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def _drop(self, key: Hashable) -> None:
        self._bytes -= len(self._entries.pop(key).body)


def cached_json(request: Request, entry: CachedBody) -> Response:
    """The body as a JSON response with its ETag, or a bodiless 304 when the browser holds it already.

    `no-cache`: the browser keeps the body but asks each time, since the run may be truncated and written
    again; the answer to an unchanged generation is then a 304 of a few bytes.
    """
    headers = {"ETag": entry.etag, "Cache-Control": "no-cache"}
    tags = _etags(request.headers.get("if-none-match", ""))
    if entry.etag in tags or "*" in tags:
        return Response(status_code=304, headers=headers)
    return Response(entry.body, media_type="application/json", headers=headers)


def _etags(header: str) -> set[str]:
    """The entity tags of an If-None-Match header (weak ones compare equal, as RFC 9110 §13.1.2 says)."""
    return {tag.strip().removeprefix("W/") for tag in header.split(",")}
