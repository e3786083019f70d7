"""On a loopback address the server answers only to this machine's names, and its WebSocket only to
pages served from them: a web page elsewhere cannot read or steer runs (DNS rebinding, cross-site
WebSockets)."""

from __future__ import annotations

from pathlib import Path

import pytest
from starlette.websockets import WebSocketDisconnect

from evolab.server import create_app
from evolab.server.app import LOOPBACK_HOSTS
from tests.server.shared import TestClient


def loopback_client(db: Path, host: str = "127.0.0.1") -> TestClient:
    app = create_app(db, workers=1, poll_interval=0.05, static_dir=None, allowed_hosts=LOOPBACK_HOSTS)
    return TestClient(app, base_url=f"http://{host}:8080")


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_requests_addressed_to_this_machine_are_answered(tmp_path: Path, host: str) -> None:
    with loopback_client(tmp_path / "e.db", host) as client:
        assert client.get("/api/runs").status_code == 200


def test_requests_addressed_to_another_name_are_refused(tmp_path: Path) -> None:
    with loopback_client(tmp_path / "e.db") as client:
        refused = client.post("/api/runs", json={"preset": "quick"}, headers={"Host": "evil.example:8080"})
        assert refused.status_code == 400
        assert client.get("/api/runs").json() == {"data": [], "count": 0}


@pytest.mark.parametrize("origin", ["http://127.0.0.1:8080", "http://localhost:5173"])
def test_the_websocket_accepts_pages_served_from_this_machine(tmp_path: Path, origin: str) -> None:
    with (
        loopback_client(tmp_path / "e.db") as client,
        client.websocket_connect("ws://127.0.0.1:8080/api/ws", headers={"origin": origin}) as ws,
    ):
        assert ws.receive_json()["type"] == "hello"


def test_the_websocket_refuses_pages_from_other_sites(tmp_path: Path) -> None:
    with (
        loopback_client(tmp_path / "e.db") as client,
        pytest.raises(WebSocketDisconnect) as closed,
        client.websocket_connect("ws://127.0.0.1:8080/api/ws", headers={"origin": "http://evil.example"}) as ws,
    ):
        ws.receive_json()
    assert closed.value.code == 1008


def test_without_a_host_list_any_name_is_answered(tmp_path: Path) -> None:
    app = create_app(tmp_path / "e.db", workers=1, static_dir=None)
    with TestClient(app) as client:
        assert client.get("/api/runs", headers={"Host": "lab.example"}).status_code == 200
