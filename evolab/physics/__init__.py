"""Physics: pack genomes into arrays, simulate them with a compiled kernel, return results."""

from evolab.physics.pack import PackedBatch, pack_batch
from evolab.physics.simulate import FitnessTerms, PelletRecord, SimResult, frame_times, simulate

__all__ = ["FitnessTerms", "PackedBatch", "PelletRecord", "SimResult", "frame_times", "pack_batch", "simulate"]
