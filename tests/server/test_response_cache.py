"""A stored generation's cards and a replay are kept rendered, with ETags: never stale, whoever changed
the run (this server or another process), and a 304 when the browser holds the body already."""

from __future__ import annotations

from pathlib import Path

import pytest

from evolab.runner import Run
from evolab.server.cache import ResponseCache
from evolab.storage import Store
from tests.server.shared import FEW_FRAMES, TestClient, make_run, serve


def _replay_path(db: Path, run_id: str, generation: int) -> str:
    with Store(db) as store:
        creature = store.results(run_id, generation)[-1].creature_id  # the worst: re-simulated
    return f"/api/runs/{run_id}/generations/{generation}/creatures/{creature}/replay"


def _truth(db: Path, path: str) -> tuple[int, bytes]:
    """What a fresh server (nothing cached) answers."""
    with serve(db) as fresh:
        response = fresh.get(path)
        return response.status_code, response.content


def test_a_generation_and_a_replay_answer_304_to_their_etag(db_path: Path) -> None:
    run_id = make_run(db_path, 2, frames=FEW_FRAMES)
    with serve(db_path) as client:
        for path in (f"/api/runs/{run_id}/generations/1", _replay_path(db_path, run_id, 1)):
            first = client.get(path)
            assert first.status_code == 200
            etag = first.headers["etag"]
            assert first.headers["cache-control"] == "no-cache"  # kept, but asked again: runs can be rewritten

            again = client.get(path, headers={"If-None-Match": etag})
            assert again.status_code == 304
            assert again.content == b""
            assert again.headers["etag"] == etag
            assert client.get(path, headers={"If-None-Match": f'W/{etag}, "other"'}).status_code == 304

            other = client.get(path, headers={"If-None-Match": '"something else"'})
            assert other.status_code == 200
            assert other.content == first.content


def _read_everything(client: TestClient, db: Path, run_id: str) -> dict[str, bytes]:
    paths = [f"/api/runs/{run_id}/generations/{g}" for g in range(3)] + [_replay_path(db, run_id, 2)]
    answers = {}
    for path in paths:
        response = client.get(path)
        assert response.status_code == 200
        answers[path] = response.content
    return answers


def test_a_run_truncated_and_rewritten_by_another_process_is_never_served_stale(db_path: Path) -> None:
    run_id = make_run(db_path, 3, frames=FEW_FRAMES)
    with serve(db_path) as client:
        before = _read_everything(client, db_path, run_id)  # now cached
        with Store(db_path) as other:  # `evolab evolve --resume` from an earlier checkpoint does this
            other.truncate(run_id, 1)
        for path in before:
            if "/generations/0" not in path:
                assert client.get(path).status_code == 404
        with Run.resume(run_id, db_path) as run:
            run.advance(2)
        for path, old in before.items():
            response = client.get(path)
            assert response.status_code == 200
            assert (response.status_code, response.content) == _truth(db_path, path)
            if "/generations/0" not in path and "/replay" not in path:
                assert response.content != old  # new timings in the stats: the generation was rewritten


@pytest.mark.parametrize("where", ["api", "another process"])
def test_a_deleted_run_is_never_served_from_the_cache(db_path: Path, where: str) -> None:
    run_id = make_run(db_path, 3, frames=FEW_FRAMES)
    with serve(db_path) as client:
        before = _read_everything(client, db_path, run_id)
        if where == "api":
            assert client.delete(f"/api/runs/{run_id}").status_code == 204
        else:
            with Store(db_path) as other:
                other.delete_run(run_id)
        for path in before:
            assert client.get(path).status_code == 404


def test_a_fork_serves_its_own_generations(db_path: Path) -> None:
    run_id = make_run(db_path, 3, frames=FEW_FRAMES)
    with serve(db_path) as client:
        _read_everything(client, db_path, run_id)
        forked = client.post(f"/api/runs/{run_id}/fork", json={"generation": 1})
        assert forked.status_code == 201, forked.text
        fork_id = forked.json()["id"]
        assert client.get(f"/api/runs/{fork_id}/generations/2").status_code == 404  # not copied
        for g in range(2):
            path = f"/api/runs/{fork_id}/generations/{g}"
            response = client.get(path)
            assert (response.status_code, response.content) == _truth(db_path, path)


def test_the_cache_keeps_at_most_its_bytes_dropping_the_least_recently_used() -> None:
    cache = ResponseCache(max_bytes=10)
    cache.put(("run", 0), "t", b"aaaa")
    cache.put(("run", 1), "t", b"bbbb")
    assert cache.get(("run", 0), "t") is not None  # now the most recently used
    cache.put(("run", 2), "t", b"cccc")

    assert cache.get(("run", 1), "t") is None
    assert cache.get(("run", 0), "t").body == b"aaaa"
    assert cache.get(("run", 2), "t").body == b"cccc"
    cache.put(("big", 0), "t", b"x" * 11)  # larger than the whole cache: never kept
    assert cache.get(("big", 0), "t") is None
    assert len(cache) == 2


def test_a_cached_body_under_another_token_is_dropped_and_forget_run_drops_a_run() -> None:
    cache = ResponseCache()
    cache.put(("a", 0), "old", b"1")
    cache.put(("a", 1, "c"), "old", b"2")
    cache.put(("b", 0), "old", b"3")

    assert cache.get(("a", 0), "new") is None
    assert cache.get(("a", 0), "old") is None  # dropped when it was found stale
    cache.forget_run("a")
    assert cache.get(("a", 1, "c"), "old") is None
    assert cache.get(("b", 0), "old").body == b"3"
    assert cache.put(("b", 0), "old", b"3").etag == cache.put(("c", 0), "x", b"3").etag  # the body's hash
