"""Importing the original browser app's IndexedDB dump (`EvolutionLabDB`, stores `runs` and `generations`).

`read_document` reads the file, `parse_dump` checks its shape, `plan_import` checks everything else and
builds the runs' rows, and `import_dump` writes them in one transaction.
"""

from evolab.storage.original.dump import DumpError, OriginalDump, is_original_dump, parse_dump, read_document
from evolab.storage.original.frames import original_frame_times
from evolab.storage.original.importer import SOURCE, ImportPlan, import_dump, plan_import

__all__ = [
    "SOURCE",
    "DumpError",
    "ImportPlan",
    "OriginalDump",
    "import_dump",
    "is_original_dump",
    "original_frame_times",
    "parse_dump",
    "plan_import",
    "read_document",
]
