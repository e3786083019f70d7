"""`Run`: an evolution stored in a database, advanced generation by generation, resumable exactly."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from evolab.config import EvolutionConfig
from evolab.errors import BackendMismatch, ClusterLost, ConfigError, RunBusy, StorageError
from evolab.genetics import evolve_step
from evolab.genome import initial_population
from evolab.genome.batch import GenomeBatch
from evolab.genome.model import Genome
from evolab.physics.backends import make_backend
from evolab.physics.contract import Backend, PendingOutputs
from evolab.physics.pack import pack_batch
from evolab.physics.simulate import start_batch
from evolab.runner.analysis import Evaluation, generation_stats, pick_replays, rank_results, start_replays
from evolab.runner.benchmark import Benchmark, BenchmarkScore, PendingScore, benchmark_due
from evolab.runner.seeds import frame_policy_rng, fresh_run_seed, generation_seed
from evolab.storage import CreatureResult, GenerationRecord, GenerationStats, RankedResults, RunInfo, Store


@dataclass(frozen=True, slots=True)
class GenerationReport:
    """What `Run.advance` tells its callback after each stored generation."""

    stats: GenerationStats
    best: CreatureResult
    best_ever: tuple[float, str, int, float | None] | None
    """(fitness, creature id, generation, benchmark pellets): the champion on the benchmark (its benchmark
    scores), or the fittest creature in a run without a benchmark (pellets None)."""
    creature_steps: int
    wall_seconds: float
    store_seconds: float


@dataclass(frozen=True, slots=True)
class _PendingEvaluation:
    """A generation's evaluation begun on the backend (`start_batch`), read into an `Evaluation` when done:
    its scores, then the recordings of just the creatures whose replays are kept (`start_replays`)."""

    pending: PendingOutputs
    n_nodes: np.ndarray
    record: bool
    trials: int

    def result(self) -> Evaluation:
        pending = self.pending
        return Evaluation.of_outputs(pending.scores(), self.n_nodes, self.record, self.trials, pending.fetch_rows)


class _Stopwatch:
    """Adds up the seconds spent inside its `with` blocks."""

    def __init__(self) -> None:
        self.seconds = 0.0

    def __enter__(self) -> None:
        self._entered = time.perf_counter()

    def __exit__(self, *exc: object) -> None:
        self.seconds += time.perf_counter() - self._entered


class Run:
    """One evolution run in a database file.

    Every generation is evaluated, ranked, evolved and stored in one transaction together with the
    checkpoint of the next generation, so `Run.resume` continues bit for bit where it stopped.
    """

    def __init__(
        self,
        store: Store,
        info: RunInfo,
        population: Sequence[Genome],
        rng: np.random.Generator,
        generation: int,
        *,
        backend: Backend,
        owns_store: bool = True,
    ) -> None:
        self._store = store
        self._info = info
        self._population = GenomeBatch.of(population)
        self._rng = rng
        self._generation = generation
        self._backend = backend
        self._owns_store = owns_store
        self._checkpointed_generation = generation  # created and resumed runs start at a checkpoint
        self._next: _PendingEvaluation | None = None
        cfg = info.config
        self._benchmark = Benchmark(cfg.sim, info.seed, cfg.benchmark, backend=backend)
        self._best = (
            (info.best_fitness, info.best_creature_id, info.best_generation, info.best_pellets)
            if info.best_creature_id
            else None
        )
        self._longest = (
            (info.longest_streak, info.longest_survivor_id, info.longest_generation)
            if info.longest_survivor_id
            else None
        )

    # -- opening ------------------------------------------------------------------------------------

    @classmethod
    def create(
        cls,
        cfg: EvolutionConfig,
        db: str | Path | Store = "evolution.db",
        seed: int | None = None,
        *,
        name: str | None = None,
        workers: int | None = None,
        backend: str | Backend = "auto",
    ) -> Run:
        """Start a new run: random generation 0 is made and stored (with its checkpoint).

        Args:
            cfg: the evolution's settings.
            db: database file (or an open `Store`).
            seed: seeds everything; drawn fresh when None.
            name: the run's name.
            workers: CPU backend threads (default: all cores).
            backend: what runs the physics: a name ("auto": CUDA when a usable GPU is there, else the
                CPU kernel; "cpu", "cuda", "torch") or a `Backend`. The run records it.

        Raises:
            ConfigError: a negative seed.
            BackendUnavailable: the backend cannot run here.
            StorageError: the database cannot be used.
        """
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or seed < 0):
            raise ConfigError(f"seed: expected a non-negative integer (got {seed!r})")
        seed = fresh_run_seed() if seed is None else seed
        if cfg.refine.enabled:
            _require_refinement()
        physics = make_backend(backend, workers=workers)
        store, owns = _open(db)
        rng = np.random.default_rng(seed)
        population = initial_population(cfg, rng)
        # a run is registered with its generation-0 checkpoint, or not at all
        info = store.create_run(
            cfg, seed, name=name, population=population, rng_state=rng.bit_generator.state, backend=physics.name
        )
        return cls(store, info, population, rng, 0, backend=physics, owns_store=owns)

    @classmethod
    def resume(
        cls,
        run_id: str,
        db: str | Path | Store = "evolution.db",
        *,
        workers: int | None = None,
        backend: str | Backend | None = None,
        force_backend: bool = False,
    ) -> Run:
        """Continue a run from its latest checkpoint; generations stored after it are recomputed.

        Args:
            run_id, db: the run and its database.
            workers: CPU backend threads (default: all cores).
            backend: as in `Run.create`; by default the backend the run was evolved on.
            force_backend: continue on another backend than the run's (it is bit-exact per backend only:
                the continuation is then not what the run itself would have made).

        Raises:
            StorageError: unknown run, or a run without a checkpoint.
            BackendMismatch: `backend` is not the run's and `force_backend` is not set.
            BackendUnavailable: the backend cannot run here.
        """
        store, owns = _open(db)
        info = store.get_run(run_id)
        if info.config.refine.enabled:
            _require_refinement()
        physics = make_backend(info.backend if backend is None else backend, workers=workers)
        if physics.name != info.backend and not force_backend:
            raise BackendMismatch(
                f"run {run_id!r} was evolved on the {info.backend} backend, not {physics.name}: "
                "it continues bit for bit on its own backend only",
                hint=f"resume with --backend {info.backend}, or add --force-backend to continue on {physics.name}",
            )
        if info.being_written and info.writer_pid != os.getpid():
            raise RunBusy(f"run {run_id!r} is being written by process {info.writer_pid}; stop it first")
        checkpoint = store.checkpoint(run_id)
        if checkpoint is None:
            raise StorageError(f"run {run_id!r} has no checkpoint to resume from")
        if info.generation_count > checkpoint.generation:
            store.truncate(run_id, checkpoint.generation)
            info = store.get_run(run_id)
        rng = np.random.default_rng()
        rng.bit_generator.state = checkpoint.rng_state
        return cls(
            store,
            info,
            checkpoint.population,
            rng,
            checkpoint.generation,
            backend=physics,
            owns_store=owns,
        )

    # -- state ----------------------------------------------------------------------------------------

    @property
    def id(self) -> str:
        return self._info.id

    @property
    def config(self) -> EvolutionConfig:
        return self._info.config

    @property
    def seed(self) -> int:
        return self._info.seed

    @property
    def generation(self) -> int:
        """The next generation to evaluate (= generations stored)."""
        return self._generation

    @property
    def backend(self) -> Backend:
        """What runs the physics of this run's generations."""
        return self._backend

    @property
    def store(self) -> Store:
        return self._store

    @property
    def population(self) -> list[Genome]:
        """The genomes about to be evaluated."""
        return list(self._population)

    def info(self) -> RunInfo:
        """The run as stored now."""
        return self._store.get_run(self.id)

    # -- the loop -------------------------------------------------------------------------------------

    def advance(
        self,
        generations: int = 1,
        *,
        on_generation: Callable[[GenerationReport], None] | None = None,
        should_stop: Callable[[], bool] | None = None,
    ) -> list[GenerationStats]:
        """Evaluate, evolve and store up to `generations` generations.

        Args:
            generations: how many to run.
            on_generation: called after each generation is stored.
            should_stop: checked before each generation; True ends the loop early (a clean stop).

        Returns:
            The statistics of the generations run.
        """
        done: list[GenerationStats] = []
        self._store.set_status(self.id, "running", writer_pid=os.getpid(), backend=self._backend.name)
        status = "failed"
        try:
            for i in range(generations):
                if should_stop is not None and should_stop():
                    break
                done.append(self._step(on_generation, last=i == generations - 1))
            status = "completed" if len(done) == generations else "stopped"
        except (KeyboardInterrupt, ClusterLost):
            # a clean boundary: nothing of the interrupted generation was stored, and the population of
            # the last stored one is kept below, so the run resumes there (a lost cluster evaluated it)
            status = "stopped"
            raise
        finally:
            if self._next is not None:  # begun for a generation this call no longer runs
                self._next.pending.cancel()
                self._next = None
            with contextlib.suppress(StorageError):  # keep the original error, if any
                if status != "failed" and self._checkpointed_generation != self._generation:
                    # however it ended, the next resume starts right after the last stored generation
                    self._store.store_population(
                        self.id, self._generation, self._population, self._rng.bit_generator.state
                    )
                    self._checkpointed_generation = self._generation
                self._store.set_status(self.id, status)
        return done

    def _step(self, on_generation: Callable[[GenerationReport], None] | None, *, last: bool) -> GenerationStats:
        cfg = self.config
        g = self._generation
        genomes = self._population
        start = time.perf_counter()
        sim_seed = generation_seed(self.seed, g)
        record = cfg.frames.enabled and (cfg.frames.keep_top + cfg.frames.keep_random + cfg.frames.keep_bottom) > 0
        clock = _Stopwatch()  # the seconds spent packing, starting and waiting for the backend's calls
        with clock:
            begun, self._next = self._next, None
            evaluation = (begun or self._start_evaluation(genomes, sim_seed, record)).result()
        ranked = rank_results(g, genomes, evaluation)
        with clock:
            scoring = self._start_benchmark(genomes, ranked) if benchmark_due(cfg.benchmark, g) else None
        chosen = pick_replays(ranked, cfg.frames, frame_policy_rng(self.seed, g))
        next_population = evolve_step(genomes, evaluation.fitness, cfg, self._rng, birth=g + 1)
        if cfg.refine.enabled and (g + 1) % cfg.refine.every == 0:
            next_population = self._refine_elites(next_population, g + 1)
        with clock:
            if not last:  # a backend that computes elsewhere evaluates the next generation while this one is stored
                self._next = self._start_evaluation(next_population, generation_seed(self.seed, g + 1), record)
            replays = start_replays(chosen, genomes, evaluation)  # on their way while the benchmark is scored
            score = scoring.result() if scoring is not None else None
            frames = replays.result()
        self._update_records(ranked, score)
        stats = generation_stats(
            g,
            genomes,
            ranked,
            sim_seed=sim_seed,
            sim_seconds=clock.seconds,
            host_seconds=time.perf_counter() - start - clock.seconds,
            benchmark=score,
        )
        evolved = time.perf_counter()
        checkpoint = (g + 1) % cfg.checkpoint_every == 0
        self._store.save_generation(
            self.id,
            GenerationRecord(
                stats=stats,
                results=ranked,
                frames=frames,
                next_population=next_population,
                rng_state=self._rng.bit_generator.state,
                write_checkpoint=checkpoint,
                best=self._best,
                longest=self._longest,
            ),
        )
        stored = time.perf_counter()
        self._population = next_population
        self._generation = g + 1
        if checkpoint:
            self._checkpointed_generation = g + 1
        if on_generation is not None:
            scored_creatures = self._benchmark.simulated * cfg.benchmark.layouts if score else 0
            evaluated = len(genomes) * cfg.trials + scored_creatures
            on_generation(
                GenerationReport(
                    stats=stats,
                    best=ranked[0],
                    best_ever=self._best,
                    creature_steps=evaluated * cfg.sim.n_steps,
                    wall_seconds=stored - start,
                    store_seconds=stored - evolved,
                )
            )
        return stats

    def _start_evaluation(self, genomes: Sequence[Genome], seed: int, record: bool) -> _PendingEvaluation:
        trials = self.config.trials
        batch = pack_batch(genomes)
        pending = start_batch(batch, self.config.sim, seed, trials=trials, record=record, backend=self._backend)
        return _PendingEvaluation(pending, batch.n_nodes, record, trials)

    def _refine_elites(self, population: GenomeBatch, generation: int) -> GenomeBatch:
        """`population` with its first `refine.elites` (the elites, best first) replaced by their refined
        children where those score better on the layouts of `generation`, the one they are evaluated in
        next (`RefinePolicy`). A pure function of the population and the generation, so resumes stay exact."""
        from evolab.runner.refine import refine  # the torch extra, checked when the run was opened

        policy = self.config.refine
        sim_seed = generation_seed(self.seed, generation)
        genomes = list(population)
        for i in range(min(policy.elites, self.config.elite_count, len(genomes))):
            result = refine(
                genomes[i], self.config, sim_seed + i, steps=policy.steps, learning_rate=policy.learning_rate,
                window=policy.window, layouts=self.config.trials, select_seed=sim_seed, held_out=False,
                backend=self._backend,
            )  # fmt: skip
            if result.improved:
                genomes[i] = result.genome
        return GenomeBatch.of(genomes)

    def _start_benchmark(self, genomes: Sequence[Genome], ranked: RankedResults) -> PendingScore:
        index = {cid: i for i, cid in enumerate(GenomeBatch.of(genomes).ids)}
        return self._benchmark.start([genomes[index[cid]] for cid in ranked.creature_ids[: self.config.benchmark.top]])

    def _update_records(self, ranked: RankedResults, score: BenchmarkScore | None) -> None:
        if score is not None:  # the champion: judged on the held-out layouts, never on a lucky one
            if self._best is None or self._best[3] is None or score.fitness > self._best[0]:
                self._best = (score.fitness, score.creature_id, ranked.generation, score.pellets)
        elif self._best is None or (self._best[3] is None and ranked.fitness[0] > self._best[0]):
            self._best = (ranked.fitness[0], ranked.creature_ids[0], ranked.generation, None)
        streaks = ranked.survival_streaks
        i = max(range(len(streaks)), key=streaks.__getitem__)  # first of the best on ties
        if streaks[i] > 0 and (self._longest is None or streaks[i] > self._longest[0]):
            self._longest = (streaks[i], ranked.creature_ids[i], ranked.generation)

    # -- reading --------------------------------------------------------------------------------------

    def history(self) -> list[GenerationStats]:
        """Statistics of every stored generation, in order."""
        return self._store.generation_stats(self.id)

    def results(self, generation: int) -> list[CreatureResult]:
        """A stored generation's results, best first."""
        return self._store.results(self.id, generation)

    def genome(self, creature_id: str) -> Genome:
        """A creature's genome."""
        return self._store.genome(self.id, creature_id)

    def close(self) -> None:
        """Release the database (when this run opened it)."""
        if self._owns_store:
            self._store.close()

    def __enter__(self) -> Run:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _require_refinement() -> None:
    """Refinement runs through the torch physics: say so up front, not after a generation's work."""
    try:
        import evolab.runner.refine  # noqa: F401
    except ImportError as err:
        raise ConfigError(
            f"refine.enabled: refining elites needs PyTorch ({err.name} is not installed)",
            hint="pip install 'evolab[torch]'",
        ) from None


def _open(db: str | Path | Store) -> tuple[Store, bool]:
    if isinstance(db, Store):
        return db, False
    return Store(db), True
