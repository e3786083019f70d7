"""Choosing a physics backend by name: `auto`, `cpu`, `cuda` or `torch`.

The GPU backends live behind optional extras (`evolab[cuda]`, `evolab[torch]`), so they are imported
only when asked for; `auto` takes CUDA when a usable GPU is there and the CPU kernel otherwise.
"""

from __future__ import annotations

import importlib
from typing import Literal

from evolab.errors import BackendUnavailable
from evolab.physics.backend_cpu import CpuBackend
from evolab.physics.contract import Backend

BackendName = Literal["auto", "cpu", "cuda", "torch"]
BACKEND_NAMES: tuple[str, ...] = ("auto", "cpu", "cuda", "torch")
RECORDED_BACKENDS: tuple[str, ...] = ("cpu", "cuda", "torch")
"""The backends a run can be evolved on (what `auto` resolves to is recorded, never `auto`)."""

OPTIONAL_BACKENDS = {  # name: (module, class, the extra that installs it)
    "cuda": ("evolab.physics.backend_cuda", "CudaBackend", "evolab[cuda]"),
    "torch": ("evolab.physics.backend_torch", "TorchBackend", "evolab[torch]"),
}


def make_backend(name: str | Backend | None = "auto", *, workers: int | None = None) -> Backend:
    """The backend called `name` (a `Backend` is returned as it is).

    Args:
        name: "auto" (CUDA when usable, else CPU), "cpu", "cuda" or "torch"; None means "cpu".
        workers: CPU threads of the CPU backend (default: all cores).

    Raises:
        BackendUnavailable: an unknown name, or a backend that cannot run on this machine.
    """
    if isinstance(name, Backend):
        return name
    if name is None or name == "cpu":
        return CpuBackend(workers)
    if name == "auto":
        try:
            return _optional("cuda")
        except BackendUnavailable:
            return CpuBackend(workers)
    if name in OPTIONAL_BACKENDS:
        return _optional(name)
    raise BackendUnavailable(f"backend: expected one of {', '.join(BACKEND_NAMES)} (got {name!r})")


def _optional(name: str) -> Backend:
    module_name, class_name, extra = OPTIONAL_BACKENDS[name]
    try:
        module = importlib.import_module(module_name)
    except ImportError as err:
        raise BackendUnavailable(
            f"backend {name!r} is not installed ({err.name or err})", hint=f"pip install '{extra}'"
        ) from None
    return getattr(module, class_name).create()
