"""Storage: the SQLite schema and migrations, compact frame and genome encodings, export/import."""

from evolab.storage._creatures import BatchCache
from evolab.storage.records import (
    Checkpoint,
    CreatureInfo,
    CreatureResult,
    FramesToStore,
    GenerationCreatures,
    GenerationRecord,
    GenerationStats,
    RankedResults,
    RunInfo,
    StoredFrames,
)
from evolab.storage.store import Store, new_run_id

__all__ = [
    "BatchCache",
    "Checkpoint",
    "CreatureInfo",
    "CreatureResult",
    "FramesToStore",
    "GenerationCreatures",
    "GenerationRecord",
    "GenerationStats",
    "RankedResults",
    "RunInfo",
    "Store",
    "StoredFrames",
    "new_run_id",
]
