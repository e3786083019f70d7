"""Write v2.db, the kept database of schema version 2 (run once with an evolab whose schema is v2).

    .venv/bin/python tests/storage/data/make_v2_db.py

Never regenerate it with a later evolab: it stands for the databases v2 users already have.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

from evolab import EvolutionConfig
from evolab.runner import Run
from evolab.storage import Store

TARGET = Path(__file__).with_name("v2.db")


def main() -> None:
    TARGET.unlink(missing_ok=True)
    with Store(TARGET) as store:
        assert store.schema_version == 2
        oscillators = EvolutionConfig.from_preset("quick", population_size=8, elite_count=2, sim={"duration": 1.0})
        with Run.create(oscillators, store, seed=2024, name="v2 oscillators") as run:
            run.advance(2)
        neural = EvolutionConfig.from_preset("neural-hybrid", population_size=6, elite_count=1, sim={"duration": 1.0})
        with Run.create(neural, store, seed=2025, name="v2 neural") as run:
            run.advance(2)
        store.save_preset("v2 preset", oscillators)
    with closing(sqlite3.connect(TARGET)) as conn:  # fold the WAL into the file and keep it compact
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.execute("VACUUM")
    print(f"{TARGET}: {TARGET.stat().st_size} bytes")


if __name__ == "__main__":
    main()
