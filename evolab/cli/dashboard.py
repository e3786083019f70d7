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
    best_ever: tuple[float, str, int] | None = None
    best_ever_name: str = ""
    stopping: bool = False

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
    lines: list[RenderableType] = [progress, numbers, Text(f"best  {sparkline(s.best_history)}", style="green")]
    if s.best_ever is not None:
        fitness, creature_id, generation = s.best_ever
        label = f"{s.best_ever_name} " if s.best_ever_name else ""
        lines.append(Text(f"best ever {label}({creature_id}) fitness {fitness:.1f} in generation {generation}"))
    if s.stopping:
        lines.append(Text("stopping after this generation (Ctrl-C again to abandon it)", style="yellow"))
    return Panel(Group(*lines), title=f"evolab evolve — {s.run_name}", subtitle=s.run_id, border_style="blue")


def plain_line(s: Snapshot) -> str:
    """One line per generation, for logs and pipes."""
    return (
        f"gen {s.generation - 1:>5}  best {s.best:8.2f}  avg {s.average:8.2f}  median {s.median:8.2f}  "
        f"worst {s.worst:8.2f}  {s.creature_steps_per_s:,.0f} steps/s  ({s.generation}/{s.target_generation})"
    )
