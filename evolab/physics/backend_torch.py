"""The PyTorch backend: the CPU kernel's physics over whole batches of tensors (`torch_physics`).

Runs on any torch device (CUDA when there is one, else the CPU), float64 by default. Gather-only and in
a fixed order of operations per creature, so results are bitwise repeatable and do not depend on a
creature's batch-mates (contract invariants (a), (b)).
"""

from __future__ import annotations

import numpy as np
import torch

from evolab.errors import BackendUnavailable
from evolab.physics import torch_physics
from evolab.physics.contract import BatchOutputs, PelletDraws, SimParams, substeps
from evolab.physics.pack import PackedBatch


class TorchBackend:
    """Simulates a batch as (B, N, ...) tensors on one torch device.

    Args:
        device: a torch device string ("cpu", "cuda", "cuda:1").
        dtype: torch.float64 (agrees with the CPU kernel) or torch.float32.
        skip_idle_contacts: skip contact rounds in which no pair of the batch touches (one host sync per
            sub-step; exact). Turn off to keep the step free of host syncs (CUDA graphs, compilation).
        compile: run the sub-step through `torch.compile` (`torch_step.compiled_substep`): faster once
            compiled, repeatable, but NOT bit-identical to eager (nor to the CPU kernel); implies
            `skip_idle_contacts=False`. Off by default.
    """

    name = "torch"

    def __init__(
        self,
        device: str = "cpu",
        dtype: torch.dtype = torch.float64,
        skip_idle_contacts: bool = True,
        compile: bool = False,  # noqa: A002 (the torch word)
    ):
        self.device = device
        self.dtype = dtype
        self.skip_idle_contacts = skip_idle_contacts
        self.compile = compile

    @classmethod
    def create(cls, device: str | None = None, dtype: torch.dtype = torch.float64) -> TorchBackend:
        """The backend on `device` (default: "cuda" when available, else "cpu").

        Raises:
            BackendUnavailable: the device cannot be used here.
        """
        if device is None:
            device = "cuda" if torch.cuda.is_available() else "cpu"
        try:
            torch.zeros(1, device=device, dtype=dtype)
        except (RuntimeError, AssertionError, ValueError) as err:
            first_line = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            raise BackendUnavailable(f"torch backend: device {device!r} is not usable ({first_line})") from None
        return cls(device, dtype)

    def describe(self) -> str:
        kind = str(self.dtype).removeprefix("torch.")
        return f"torch {torch.__version__} ({self.device}, {kind})"

    def run(self, batch: PackedBatch, params: SimParams, draws: PelletDraws, record: bool) -> BatchOutputs:
        steps = substeps(batch, params.min_substeps).astype(np.int64)
        # most sub-steps first: sub-step k then works on a prefix of the batch (no gathers, no waste)
        order = np.argsort(-steps, kind="stable")
        with torch.no_grad():
            raw = torch_physics.rollout(
                batch.take(order),
                params,
                draws.take(order),
                steps[order],
                record,
                self.device,
                self.dtype,
                self.skip_idle_contacts,
                compiled=self.compile,
            )
        back = np.argsort(order, kind="stable")
        out = BatchOutputs.zeros(batch.size, params.n_frames, batch.node_params.shape[1], record, steps)

        def host(x: torch.Tensor, dtype: type) -> np.ndarray:
            return np.ascontiguousarray(x.detach().cpu().numpy()[back].astype(dtype))

        out.fitness[:] = host(raw.fitness, np.float64)
        out.pellets[:] = host(raw.pellets, np.int32)
        out.dq[:] = host(raw.dq, np.int8)
        out.distance[:] = host(raw.distance, np.float64)
        out.net_displacement[:] = host(raw.net_displacement, np.float64)
        out.terms[:] = host(raw.terms, np.float64)
        out.pellet_pos[:] = host(raw.pellet_pos, np.float64)
        out.pellet_spawn[:] = host(raw.pellet_spawn, np.int32)
        out.pellet_collect[:] = host(raw.pellet_collect, np.int32)
        out.pellet_init[:] = host(raw.pellet_init, np.float64)
        out.n_spawned[:] = host(raw.n_spawned, np.int32)
        if record and raw.frames is not None and raw.fitness_over_time is not None:
            out.frames[:] = host(raw.frames, np.float32)
            out.fitness_over_time[:] = host(raw.fitness_over_time, np.float64)
        return out
