"""How creature ids are stored: evolab's own ids (`cr_` + 16 lowercase hex digits) as their 64-bit number,
8 bytes instead of 19 in the creatures table, its id index and both parent columns; any other id (from
an imported document) as its text. `creature_id` turns either back into the id.

Both are also SQL functions on every `Store` connection, so queries can convert where they select.
"""

from __future__ import annotations

import functools

_HEX_DIGITS = "0123456789abcdef"
_SIGN = 1 << 63
_WRAP = 1 << 64


@functools.lru_cache(maxsize=4096)  # a child's parents were the last generation's new ids: mostly hits
def creature_key(creature_id: str | None) -> int | str | None:
    """The stored form of a creature id (None stays None)."""
    # `cr_` and exactly 16 lowercase hex digits (str methods: several times faster than a regex match,
    # and a generation stores a few hundred ids)
    if (
        creature_id is None
        or len(creature_id) != 19
        or not creature_id.startswith("cr_")
        or creature_id[3:].strip(_HEX_DIGITS)
    ):
        return creature_id
    value = int(creature_id[3:], 16)
    return value - _WRAP if value >= _SIGN else value  # SQLite integers are signed


def creature_id(key: int | str | None) -> str | None:
    """Inverse of `creature_key`."""
    if isinstance(key, int):
        return f"cr_{key % _WRAP:016x}"
    return key
