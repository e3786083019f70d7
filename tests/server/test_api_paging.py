"""The list endpoints answer `{"data": [...], "count": N}` a page at a time: `limit` items after the first
`offset`, `count` the whole collection's size; out-of-range paging is a 422 naming the parameter."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from evolab.config import preset_names
from tests.server.shared import SMALL, TestClient, make_run, serve

RUNS = 5
GENERATIONS = 7
HUGE = 10**30


@dataclass(frozen=True)
class Served:
    """A database of `RUNS` runs, served; `run_ids` newest first (as listed), the newest has generations."""

    client: TestClient
    run_ids: list[str]

    def page(self, url: str, **params: Any) -> dict[str, Any]:
        response = self.client.get(url, params=params)
        assert response.status_code == 200, response.text
        return response.json()

    @property
    def generations_url(self) -> str:
        return f"/api/runs/{self.run_ids[0]}/generations"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    db = tmp_path_factory.mktemp("paging") / "evolution.db"
    oldest_first = [make_run(db, 0, seed=seed) for seed in range(RUNS - 1)]
    oldest_first.append(make_run(db, GENERATIONS, seed=RUNS))
    with serve(db) as client:
        assert client.put("/api/presets/mine", json={"base": "quick", "config": SMALL}).status_code == 200
        yield Served(client, oldest_first[::-1])


def test_without_paging_a_list_holds_the_whole_collection_and_its_count(served: Served) -> None:
    runs = served.page("/api/runs")
    generations = served.page(served.generations_url)
    presets = served.page("/api/presets")

    assert ([r["id"] for r in runs["data"]], runs["count"]) == (served.run_ids, RUNS)
    assert ([g["generation"] for g in generations["data"]], generations["count"]) == (list(range(GENERATIONS)), 7)
    assert ([p["name"] for p in presets["data"]], presets["count"]) == (
        [*preset_names(), "mine"],
        len(preset_names()) + 1,
    )


@pytest.mark.parametrize(
    ("limit", "offset", "expected"),
    [
        (2, 0, slice(0, 2)),
        (2, 2, slice(2, 4)),
        (2, 4, slice(4, 5)),
        (1, RUNS - 1, slice(RUNS - 1, RUNS)),
        (3, 1, slice(1, 4)),
    ],
)
def test_a_page_of_runs_is_limit_runs_after_offset_and_count_is_all_of_them(
    served: Served, limit: int, offset: int, expected: slice
) -> None:
    page = served.page("/api/runs", limit=limit, offset=offset)

    assert [r["id"] for r in page["data"]] == served.run_ids[expected]
    assert page["count"] == RUNS


@pytest.mark.parametrize("offset", [RUNS, RUNS + 1, 2**62])
def test_a_page_past_the_end_is_empty_and_still_counts_the_collection(served: Served, offset: int) -> None:
    assert served.page("/api/runs", offset=offset) == {"data": [], "count": RUNS}


def test_pages_of_one_run_each_add_up_to_the_whole_list(served: Served) -> None:
    pages = [served.page("/api/runs", limit=1, offset=i) for i in range(RUNS)]

    assert [r["id"] for page in pages for r in page["data"]] == served.run_ids
    assert {page["count"] for page in pages} == {RUNS}


def test_generations_are_paged_within_their_start_stop_window(served: Served) -> None:
    window = served.page(served.generations_url, start=2, stop=6)
    page = served.page(served.generations_url, start=2, stop=6, limit=2, offset=1)

    assert ([g["generation"] for g in window["data"]], window["count"]) == ([2, 3, 4, 5], 4)
    assert ([g["generation"] for g in page["data"]], page["count"]) == ([3, 4], 4)
    assert served.page(served.generations_url, limit=3, offset=5) == {
        "data": served.page(served.generations_url)["data"][5:],
        "count": GENERATIONS,
    }


def test_presets_are_paged_shipped_first_then_saved(served: Served) -> None:
    shipped = preset_names()
    last = served.page("/api/presets", limit=2, offset=len(shipped) - 1)

    assert [p["name"] for p in last["data"]] == [shipped[-1], "mine"]
    assert [p["builtin"] for p in last["data"]] == [True, False]
    assert last["count"] == len(shipped) + 1


@pytest.mark.parametrize(("url", "maximum"), [("/api/runs", 1000), ("/api/presets", 1000), ("generations", 10_000)])
def test_the_largest_page_is_allowed_and_one_more_is_not(served: Served, url: str, maximum: int) -> None:
    url = served.generations_url if url == "generations" else url

    assert served.client.get(url, params={"limit": maximum}).status_code == 200
    assert served.client.get(url, params={"limit": maximum + 1}).status_code == 422


BAD_PAGING = [
    pytest.param({"limit": 0}, "limit", id="limit 0"),
    pytest.param({"limit": -1}, "limit", id="negative limit"),
    pytest.param({"limit": HUGE}, "limit", id="huge limit"),
    pytest.param({"limit": "ten"}, "limit", id="limit not a number"),
    pytest.param({"limit": 1.5}, "limit", id="fractional limit"),
    pytest.param({"offset": -1}, "offset", id="negative offset"),
    pytest.param({"offset": HUGE}, "offset", id="huge offset"),
    pytest.param({"offset": "start"}, "offset", id="offset not a number"),
    pytest.param({"offset": 0.5}, "offset", id="fractional offset"),
]


@pytest.mark.parametrize("url", ["/api/runs", "/api/presets", "generations"])
@pytest.mark.parametrize(("params", "name"), BAD_PAGING)
def test_out_of_range_paging_is_a_422_naming_the_parameter(
    served: Served, url: str, params: dict[str, Any], name: str
) -> None:
    url = served.generations_url if url == "generations" else url
    response = served.client.get(url, params=params)

    assert response.status_code == 422
    assert [error["loc"] for error in response.json()["errors"]] == [["query", name]]
    assert response.json()["detail"].startswith(f"query.{name}: ")
