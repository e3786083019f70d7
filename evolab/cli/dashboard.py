"""The live `evolab evolve` dashboard: a pure function from a progress snapshot to a rich renderable,
plus the plain one-line-per-generation form for logs and pipes."""

from __future__ import annotations

from dataclasses import dataclass, field

from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

_SPARKS = "▁▂▃▄▅▆▇█"


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Everything the dashboard shows, at one moment of a run."""

    run_id: str
    run_name: str
    generation: int  # generations stored so far in the run
    first_generation: int  # where this session started
    target_generation: int  # where this session stops
    elapsed: float  # seconds since this session started
    best: float
    average: float
    worst: float
    median: float
    creature_steps_per_s: float
    best_history: tuple[float, ...] = field(default_factory=tuple)
    best_ever: tuple[float, str, int, float | None] | None = None
    """(fitness, creature id, generation, benchmark pellets): the champion on the benchmark when the
    pellets are given, else the fittest creature so far."""
    best_ever_name: str = ""
    stopping: bool = False
    trials: int = 1
    """Pellet layouts each creature is evaluated on per generation."""
    benchmark_layouts: int = 0
    """Held-out layouts of the run's benchmark; 0 when the run has none."""
    benchmark: tuple[float, float, int] | None = None
    """(fitness, pellets, generation) of the latest generation scored on the benchmark."""

    @property
    def benchmark_is_current(self) -> bool:
        """Whether the generation just stored was scored on the benchmark."""
        return self.benchmark is not None and self.benchmark[2] == self.generation - 1

    @property
    def done_in_session(self) -> int:
        return self.generation - self.first_generation

    @property
    def total_in_session(self) -> int:
        return self.target_generation - self.first_generation

    @property
    def generations_per_s(self) -> float | None:
        return self.done_in_session / self.elapsed if self.elapsed > 0 and self.done_in_session else None

    @property
    def eta_seconds(self) -> float | None:
        rate = self.generations_per_s
        return (self.target_generation - self.generation) / rate if rate else None


def sparkline(values: tuple[float, ...] | list[float], width: int = 60) -> str:
    """Unicode bars for the last `width` values, scaled between their min and max."""
    tail = list(values)[-width:]
    if not tail:
        return ""
    low, high = min(tail), max(tail)
    span = high - low
    return "".join(_SPARKS[0 if span <= 0 else min(7, int((v - low) / span * 8))] for v in tail)


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "--:--"
    seconds = round(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"


def render_dashboard(s: Snapshot) -> RenderableType:
    """The dashboard for one snapshot."""
    bar = ProgressBar(total=max(s.total_in_session, 1), completed=s.done_in_session, width=40)
    rate = s.generations_per_s
    progress = Table.grid(padding=(0, 2))
    progress.add_row(
        bar,
        Text(f"gen {s.generation}/{s.target_generation}"),
        Text(f"{rate:.2f} gen/s" if rate else "-- gen/s"),
        Text(f"ETA {_duration(s.eta_seconds)}"),
        Text(f"elapsed {_duration(s.elapsed)}"),
    )
    numbers = Table(box=None, padding=(0, 2), show_header=True, header_style="bold")
    for column in ("best", "average", "median", "worst", "creature-steps/s"):
        numbers.add_column(column, justify="right")
    numbers.add_row(
        f"{s.best:.1f}", f"{s.average:.1f}", f"{s.median:.1f}", f"{s.worst:.1f}", f"{s.creature_steps_per_s:,.0f}"
    )
    lines: list[RenderableType] = [
        Text(settings_line(s), style="dim"),
        progress,
        numbers,
        Text(f"best  {sparkline(s.best_history)}", style="green"),
    ]
    if s.benchmark is not None:
        fitness, pellets, generation = s.benchmark
        lines.append(Text(f"benchmark gen {generation}: {pellets:.2f} pellets, fitness {fitness:.1f}"))
    if s.best_ever is not None:
        fitness, creature_id, generation, pellets = s.best_ever
        label = f"{s.best_ever_name} " if s.best_ever_name else ""
        if pellets is None:
            lines.append(Text(f"best ever {label}({creature_id}) fitness {fitness:.1f} in generation {generation}"))
        else:  # the champion, judged on the benchmark
            lines.append(
                Text(f"champion  {label}({creature_id}) gen {generation}: {pellets:.2f} pellets, fitness {fitness:.1f}")
            )
    if s.stopping:
        lines.append(Text("stopping after this generation (Ctrl-C again to abandon it)", style="yellow"))
    return Panel(Group(*lines), title=f"evolab evolve — {s.run_name}", subtitle=s.run_id, border_style="blue")


def settings_line(s: Snapshot) -> str:
    """How each creature is judged: trials per generation and the held-out benchmark."""
    trials = f"{s.trials} trial{'' if s.trials == 1 else 's'} per creature"
    if not s.benchmark_layouts:
        return f"{trials}, no benchmark"
    return f"{trials}, benchmark on {s.benchmark_layouts} held-out layouts"


def plain_line(s: Snapshot) -> str:
    """One line per generation, for logs and pipes (with its benchmark score when it was scored)."""
    benchmark = ""
    if s.benchmark is not None and s.benchmark_is_current:
        benchmark = f"  benchmark {s.benchmark[0]:8.2f} ({s.benchmark[1]:.2f} pellets)"
    return (
        f"gen {s.generation - 1:>5}  best {s.best:8.2f}  avg {s.average:8.2f}  median {s.median:8.2f}  "
        f"worst {s.worst:8.2f}{benchmark}  {s.creature_steps_per_s:,.0f} steps/s  "
        f"({s.generation}/{s.target_generation})"
    )
