"""Schema 2's compact storage: a generation's replays in one block, genome batches compressed against
the batch before them, evolab's creature ids stored as numbers; and schema 1 files moved over without
changing a stored value."""

from __future__ import annotations

import json
import shutil
import sqlite3
from contextlib import closing
from pathlib import Path

import numpy as np
import pytest

from evolab import EvolutionConfig, StorageError
from evolab.errors import InvalidInput
from evolab.genome import random_genome
from evolab.runner import Run
from evolab.storage import Store
from evolab.storage.creature_keys import creature_id, creature_key
from evolab.storage.frame_codec import decode_replay, raw_replays
from evolab.storage.genome_codec import KEY_INTERVAL, batch_depth, decode_batch
from evolab.storage.replay_block import BlockEntry, decode_block, encode_block, pellet_dicts

from .builders import run_pk

V1 = Path(__file__).parent / "data" / "v1.db"


# -- creature ids --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "cid", ["cr_0000000000000000", "cr_00001a2b3c4d5e6f", "cr_ffffffffffffffff", "cr_8000000000000000"]
)
def test_evolabs_own_ids_are_stored_as_signed_64_bit_numbers_and_come_back(cid: str) -> None:
    key = creature_key(cid)
    assert isinstance(key, int)
    assert -(2**63) <= key < 2**63
    assert creature_id(key) == cid


@pytest.mark.parametrize(
    "cid",
    [
        "cr_1",
        "creature_42",
        "CR_00001A2B3C4D5E6F",
        "cr_00001A2B3C4D5E6F",
        "12345",
        "",
        "cr_0000_0000_0000_0",  # int() would take these: not evolab's form all the same
        "cr_+000000000000001",
        "cr_ 00000000000000a",
        "cr_0000000000000000 ",
    ],
)
def test_other_ids_are_stored_as_their_text(cid: str) -> None:
    assert creature_key(cid) == cid
    assert creature_id(cid) == cid


def test_the_creatures_table_holds_numbers_for_evolab_ids_and_text_for_others(store: Store) -> None:
    rng = np.random.default_rng(3)
    run = store.create_run(EvolutionConfig(population_size=3, elite_count=1), seed=1)
    genomes = [random_genome(rng), random_genome(rng).replace(id="creature_7"), random_genome(rng)]
    genomes[2] = genomes[2].replace(parent_ids=(genomes[0].id, "creature_7"))
    store.store_population(run.id, 0, genomes, {"next": 0})
    with closing(sqlite3.connect(store.path)) as conn:
        types = conn.execute("SELECT typeof(id), typeof(parent1), typeof(parent2) FROM creatures ORDER BY no")
        assert types.fetchall() == [
            ("integer", "null", "null"),
            ("text", "null", "null"),
            ("integer", "integer", "text"),
        ]
    assert store.genomes(run.id, [g.id for g in genomes]) == genomes
    assert store.creature(run.id, genomes[2].id).parent_ids == (genomes[0].id, "creature_7")


def test_a_creature_with_more_than_two_parents_is_refused_and_nothing_is_stored(store: Store) -> None:
    rng = np.random.default_rng(4)
    run = store.create_run(EvolutionConfig(population_size=2, elite_count=1), seed=1)
    genomes = [random_genome(rng), random_genome(rng).replace(parent_ids=("a", "b", "c"))]
    with pytest.raises(InvalidInput, match="at most two parents"):
        store.store_population(run.id, 0, genomes, {"next": 0})
    assert store.creature_infos(run.id) == []


# -- replay blocks -------------------------------------------------------------------------------------


def test_a_replay_block_round_trips_every_replay(rng: np.random.Generator) -> None:
    replays = [(rng.normal(0, 2, (16, n, 3)).astype(np.float32), np.cumsum(rng.uniform(0, 1, 16))) for n in (3, 1, 6)]
    pellets = [({"position": [1.0, 0.5, 2.0], "spawned_frame": 0, "collected_frame": None, "extra": "kept"},), (), ()]
    entries = [
        BlockEntry(no, reason, raw, p)
        for no, reason, raw, p in zip(
            [4, 9, 2], ["top", "random", "bottom"], raw_replays(replays), pellets, strict=True
        )
    ]
    decoded = decode_block(encode_block(entries))
    assert [(e.creature_no, e.reason, e.pellets) for e in decoded] == [
        (e.creature_no, e.reason, e.pellets) for e in entries
    ]
    for before, after in zip(entries, decoded, strict=True):
        assert (after.raw.positions, after.raw.fitness, after.raw.quanta) == (
            before.raw.positions,
            before.raw.fitness,
            before.raw.quanta,
        )
    assert decode_block(encode_block([])) == []


PELLET_ROWS = np.array([[3585, 300, -4500, 0, 44, 2155], [-4500, 700, 2891, 44, -1, 2238]], dtype=np.int32)


def test_pellet_rows_are_stored_as_rows_and_read_back_as_events(rng: np.random.Generator) -> None:
    raws = raw_replays([(rng.normal(0, 1, (5, 2, 3)).astype(np.float32), np.zeros(5)) for _ in range(3)])
    rows = [PELLET_ROWS, PELLET_ROWS[:0], PELLET_ROWS[1:]]
    blob = encode_block([BlockEntry(i, "top", raw, r) for i, (raw, r) in enumerate(zip(raws, rows, strict=True))])

    assert blob[:4] == b"EVB2"
    assert [e.pellets for e in decode_block(blob)] == [pellet_dicts(r) for r in rows]
    assert pellet_dicts(PELLET_ROWS) == (
        {"position": [3.585, 0.3, -4.5], "spawned_frame": 0, "collected_frame": 44, "initial_distance": 2.155},
        {"position": [-4.5, 0.7, 2.891], "spawned_frame": 44, "collected_frame": None, "initial_distance": 2.238},
    )


@pytest.mark.parametrize("rows", [PELLET_ROWS, None], ids=["pellet rows", "json events"])
def test_one_creatures_entry_or_the_entries_without_events_can_be_read_alone(rng: np.random.Generator, rows) -> None:
    raws = raw_replays([(rng.normal(0, 1, (5, 2, 3)).astype(np.float32), np.zeros(5)) for _ in range(3)])
    events = PELLET_ROWS if rows is not None else ({"position": [1.0, 0.5, 2.0], "note": "imported"},)
    blob = encode_block([BlockEntry(no, "top", raw, events) for no, raw in zip((7, 3, 5), raws, strict=True)])
    whole = decode_block(blob)

    (alone,) = decode_block(blob, 3)
    assert (alone.creature_no, alone.pellets, alone.raw.positions) == (3, whole[1].pellets, whole[1].raw.positions)
    assert decode_block(blob, 4) == []
    bare = decode_block(blob, pellets=False)
    expected = [(e.creature_no, e.raw.positions, ()) for e in whole]
    assert [(e.creature_no, e.raw.positions, e.pellets) for e in bare] == expected


def test_a_block_with_events_of_another_shape_keeps_them_as_json(rng: np.random.Generator) -> None:
    raws = raw_replays([(rng.normal(0, 1, (5, 2, 3)).astype(np.float32), np.zeros(5)) for _ in range(2)])
    imported = ({"position": [1.0, 0.5, 2.0], "note": "from elsewhere"},)
    blob = encode_block([BlockEntry(0, "top", raws[0], PELLET_ROWS), BlockEntry(1, "top", raws[1], imported)])

    assert blob[:4] == b"EVB1"
    assert [e.pellets for e in decode_block(blob)] == [pellet_dicts(PELLET_ROWS), imported]


@pytest.mark.parametrize("pellets", [(), PELLET_ROWS], ids=["json events", "pellet rows"])
@pytest.mark.parametrize("damage", ["empty", "other magic", "truncated", "count too high"])
def test_a_damaged_replay_block_is_refused(rng: np.random.Generator, damage: str, pellets) -> None:
    (raw,) = raw_replays([(rng.normal(0, 1, (5, 2, 3)).astype(np.float32), np.zeros(5))])
    blob = encode_block([BlockEntry(1, "top", raw, pellets)])
    damaged = {
        "empty": b"",
        "other magic": b"XXXX" + blob[4:],
        "truncated": blob[:-7],
        "count too high": blob[:4] + (2).to_bytes(4, "little") + blob[8:],
    }[damage]
    with pytest.raises(StorageError, match="stored frames are corrupt"):
        decode_block(damaged)


def test_a_generations_replays_are_one_row(evolved: Run) -> None:
    store = evolved.store
    with closing(sqlite3.connect(store.path)) as conn:
        rows = conn.execute(
            "SELECT generation, count(*) FROM replays WHERE run_pk = ? GROUP BY generation",
            (run_pk(store.path, evolved.id),),
        ).fetchall()
    assert rows == [(g, 1) for g in range(evolved.generation)]


# -- genome chains -------------------------------------------------------------------------------------


def test_genomes_read_back_exactly_across_chains_of_batches(tmp_path: Path) -> None:
    config = EvolutionConfig.from_preset("quick", population_size=6, elite_count=1, sim={"duration": 0.2})
    populations = []
    with Run.create(config, tmp_path / "chain.db", seed=5) as run:
        for _ in range(KEY_INTERVAL + 4):
            populations.append(run.population)
            run.advance(1)
        run_id = run.id
    with closing(sqlite3.connect(tmp_path / "chain.db")) as conn:
        depths = [batch_depth(blob) for (blob,) in conn.execute("SELECT data FROM genome_batches ORDER BY batch")]
    assert depths == [*range(KEY_INTERVAL), *range(len(depths) - KEY_INTERVAL)]
    with Store(tmp_path / "chain.db") as fresh:  # nothing cached: every chain is decompressed from its key
        for population in reversed(populations):
            stored = fresh.genomes(run_id, [g.id for g in population])
            assert [g.replace(survival_streak=0) for g in stored] == [g.replace(survival_streak=0) for g in population]


def test_a_batch_whose_predecessor_is_lost_is_reported_as_corrupt(tmp_path: Path) -> None:
    config = EvolutionConfig.from_preset("quick", population_size=5, elite_count=1, sim={"duration": 0.2})
    with Run.create(config, tmp_path / "lost.db", seed=6) as run:
        run.advance(3)
        run_id, last = run.id, run.population
    with closing(sqlite3.connect(tmp_path / "lost.db")) as conn, conn:
        conn.execute("DELETE FROM genome_batches WHERE batch = 1")
    with Store(tmp_path / "lost.db") as fresh, pytest.raises(StorageError, match="stored genomes are corrupt"):
        fresh.genomes(run_id, [g.id for g in last])


# -- schema 1 files ------------------------------------------------------------------------------------


def test_schema_1_files_move_over_without_changing_a_stored_value(tmp_path: Path) -> None:
    path = tmp_path / "v1.db"
    shutil.copyfile(V1, path)
    with closing(sqlite3.connect(path)) as conn:
        old_replays = {
            (run, g, cid): (decode_replay(frames, fitness), json.loads(pellets), reason)
            for run, g, cid, reason, frames, fitness, pellets in conn.execute(
                "SELECT r.id, f.generation, c.id, f.reason, f.frames, f.fitness, f.pellets FROM creature_frames f "
                "JOIN runs r ON r.pk = f.run_pk JOIN creatures c ON c.run_pk = f.run_pk AND c.no = f.creature_no"
            )
        }
        old_genomes = {}
        for run, batch, blob in conn.execute(
            "SELECT r.id, b.batch, b.data FROM genome_batches b JOIN runs r ON r.pk = b.run_pk"
        ).fetchall():
            members = conn.execute(
                "SELECT c.id, c.parent1, c.parent2, c.slot FROM creatures c JOIN runs r ON r.pk = c.run_pk "
                "WHERE r.id = ? AND c.batch = ? ORDER BY c.slot",
                (run, batch),
            ).fetchall()
            identities = [(m[0], tuple(p for p in m[1:3] if p)) for m in members]
            for genome in decode_batch(blob, [m[3] for m in members], identities):
                old_genomes[(run, genome.id)] = genome
    assert old_replays
    assert old_genomes
    with Store(path) as store:
        for (run, g, cid), ((frames, fitness), pellets, reason) in old_replays.items():
            stored = store.frames(run, g, cid)
            assert stored is not None
            assert np.array_equal(stored.frames, frames)
            assert np.array_equal(stored.fitness_over_time, fitness)
            assert list(stored.pellets) == pellets
            assert store.framed_creatures(run, g)[cid] == reason
        for (run, cid), genome in old_genomes.items():
            assert store.genome(run, cid) == genome
