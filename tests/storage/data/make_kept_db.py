"""Write vN.db, the kept database of the current schema version N, when a release introduces that version:

    .venv/bin/python tests/storage/data/make_kept_db.py

It refuses to overwrite a kept file: each stands for the databases users of its version already have,
so never regenerate one with a later evolab.
"""

from __future__ import annotations

import sqlite3
import sys
from contextlib import closing
from pathlib import Path

from evolab import EvolutionConfig
from evolab.runner import Run
from evolab.storage import Store
from evolab.storage.migrations import LATEST_VERSION


def main() -> None:
    tag = f"v{LATEST_VERSION}"
    target = Path(__file__).with_name(f"{tag}.db")
    if target.exists():
        sys.exit(f"{target} is kept already; it must not be regenerated")
    with Store(target) as store:
        oscillators = EvolutionConfig.from_preset("quick", population_size=8, elite_count=2, sim={"duration": 1.0})
        with Run.create(oscillators, store, seed=2024, name=f"{tag} oscillators") as run:
            run.advance(2)
        neural = EvolutionConfig.from_preset("neural-hybrid", population_size=6, elite_count=1, sim={"duration": 1.0})
        with Run.create(neural, store, seed=2025, name=f"{tag} neural") as run:
            run.advance(2)
        store.save_preset(f"{tag} preset", oscillators)
    with closing(sqlite3.connect(target)) as conn:  # fold the WAL into the file and keep it compact
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.execute("VACUUM")
    print(f"{target}: {target.stat().st_size} bytes")


if __name__ == "__main__":
    main()
