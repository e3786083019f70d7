"""`evolab bench --clients`: refused without --api, before anything is measured."""

from __future__ import annotations


def test_bench_clients_needs_api_and_is_refused_before_measuring(cli) -> None:
    result = cli("bench", "--clients", "4")

    assert result.exit_code == 2
    assert "--clients needs --api" in result.stderr
    assert "running W1" not in result.stderr
