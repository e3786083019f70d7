"""Clean stops: SIGINT/SIGTERM ask the runner to stop after the generation in flight (DESIGN §9)."""

from __future__ import annotations

import os
import signal
import threading
from types import FrameType


class StopRequest:
    """A flag set by SIGINT/SIGTERM while installed (a context manager), or by `request()`.

    A second Ctrl-C while a stop is pending raises KeyboardInterrupt as usual; the generation in flight
    is then discarded by its transaction, never half-written.
    """

    def __init__(self) -> None:
        self._event = threading.Event()
        self.signal_name: str | None = None
        self._previous: dict[int, object] = {}

    def request(self, name: str = "request") -> None:
        self.signal_name = name
        self._event.set()

    def __bool__(self) -> bool:
        return self._event.is_set()

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self._event.is_set() and signum == signal.SIGINT:
            raise KeyboardInterrupt
        self.request(signal.Signals(signum).name)

    def __enter__(self) -> StopRequest:
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)  # type: ignore[arg-type]
        self._previous.clear()


def stop_evolve_process(pid: int) -> bool:
    """Ask another process's `evolab evolve` to stop cleanly (SIGTERM: it finishes the generation in
    flight, checkpoints and exits). Only a process whose command line is `evolab evolve` is signalled, so
    a recycled pid is never hit; returns whether the request was sent.
    """
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            words = f.read().split(b"\0")
    except OSError:  # gone, not ours, or no /proc (not Linux)
        return False
    names = [w.rsplit(b"/", 1)[-1] for w in words]
    if b"evolve" not in names or not any(n == b"evolab" or n.startswith(b"evolab.") for n in names):
        return False
    try:
        os.kill(pid, signal.SIGTERM)
    except OSError:
        return False
    return True
