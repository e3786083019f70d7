"""The `--backend` option of the commands that run physics, and choosing the backend with clean errors."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Annotated

import typer

from evolab.cli._output import fail_on

if TYPE_CHECKING:
    from evolab.physics.contract import Backend


class BackendChoice(StrEnum):
    """The names `--backend` takes (`evolab.physics.backends.BACKEND_NAMES`)."""

    auto = "auto"
    cpu = "cpu"
    cuda = "cuda"
    torch = "torch"


BACKEND_HELP = "Physics backend: auto (CUDA when a usable GPU is there, else cpu), cpu, cuda or torch."

BackendOption = Annotated[
    BackendChoice, typer.Option("--backend", envvar="EVOLAB_BACKEND", help=BACKEND_HELP, case_sensitive=False)
]


def chosen_backend(name: BackendChoice | str, workers: int | None = None) -> Backend:
    """The backend called `name`, or exit 2 with one line saying why it cannot run here."""
    from evolab.errors import BackendUnavailable
    from evolab.physics.backends import make_backend

    try:
        return make_backend(name.value if isinstance(name, BackendChoice) else name, workers=workers)
    except BackendUnavailable as err:
        fail_on(err)


CLUSTER_HELP = (
    "Evaluate on a Dask cluster: a scheduler address (tcp://host:8786) or local:N (N worker processes "
    "here); the CPU kernel on every worker, bit-identical to --backend cpu. Needs evolab[cluster]."
)


def cluster_backend(address: str, backend: BackendChoice | None) -> Backend:
    """The cluster at `address` as the run's backend, or exit 2 with one line saying why not."""
    from evolab.errors import BackendUnavailable

    if backend not in (None, BackendChoice.auto, BackendChoice.cpu):
        fail_on(BackendUnavailable(f"--cluster runs the cpu backend on its workers, not {backend.value}"))
    try:
        from evolab.physics.backend_cluster import ClusterBackend

        return ClusterBackend.connect(address)
    except BackendUnavailable as err:
        fail_on(err)
