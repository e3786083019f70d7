"""The dump the original browser app made of its own IndexedDB (`tests/data/original-app/README.md`: how
it was made), kept in the repository so the import tests run on any clone."""

from __future__ import annotations

from pathlib import Path

ORIGINAL_DUMP = Path(__file__).parent / "data" / "original-app" / "indexeddb-dump.json.gz"
"""gzip of `{"runs": [...], "generations": [...]}`: one run of 11 generations of 100 creatures."""
