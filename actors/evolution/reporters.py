"""Reporters: observers of an evolution run (the model is neat-python's ``reporting``).

The population monitor calls the hooks of one :class:`ReporterSet`, which fans every event
out to its reporters in the order they were added. Every hook of :class:`Reporter` is a
no-op, so a reporter overrides only what it needs. Shipped reporters:

* :class:`ConsoleReporter` -- a live progress display (``rich``, on stderr): generation,
  evaluations, best fitness, species, evaluations per second; one plain line per generation
  when the console is not a terminal (never wrapped); the final summary on stdout; details
  (failed success tests) only when verbose; nothing at all in quiet mode.
* :class:`JsonlStatsReporter` -- one JSON object per generation (:meth:`GenerationStats.to_dict`),
  flushed line by line, so a killed run keeps every finished generation;
  :func:`read_stats` reads such a file back.
* :class:`PlotReporter` -- a picture (PNG, SVG or PDF, by the file's suffix) of fitness and
  diversity over the run's evaluations (:mod:`actors.evolution.plots`), drawn with
  matplotlib's Agg canvas (no global backend switch). matplotlib is the optional extra
  ``plot``; without it, or with an unknown suffix, the reporter raises
  :class:`ReporterError` when constructed.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from actors.evolution.errors import ReporterError
from actors.evolution.pictures import matplotlib_classes, picture_format, save_figure
from actors.evolution.plots import stats_figure
from actors.evolution.species import SpeciesStats
from actors.evolution.stats import GenerationStats, RunInfo, RunSummary

__all__ = [
    "ConsoleReporter",
    "JsonlStatsReporter",
    "PlotReporter",
    "Reporter",
    "ReporterSet",
    "plot_stats",
    "read_stats",
]


class Reporter:
    """Base class of reporters; every hook does nothing."""

    def start_run(self, info: RunInfo) -> None:
        """A run starts (or resumes: ``info.resumed_from_generation`` is set)."""

    def start_generation(self, generation: int) -> None:
        """Generation ``generation`` starts being evaluated."""

    def end_generation(self, stats: GenerationStats, species: Sequence[SpeciesStats] = ()) -> None:
        """Generation ``stats.generation`` is evaluated and committed."""

    def found_solution(self, stats: GenerationStats, agent_id: str) -> None:
        """``agent_id`` met the stopping criterion in this generation."""

    def info(self, message: str) -> None:
        """A free-form message (a validation result, a restarted phenotype...)."""

    def detail(self, message: str) -> None:
        """A message for verbose output only (a candidate that failed its success test)."""

    def end_run(self, summary: RunSummary) -> None:
        """The run is over; release files and displays."""


class ReporterSet(Reporter):
    """Fans each event out to its reporters, in the order they were added."""

    def __init__(self, reporters: Sequence[Reporter] = ()) -> None:
        self._reporters: list[Reporter] = list(reporters)

    def add(self, reporter: Reporter) -> None:
        self._reporters.append(reporter)

    def remove(self, reporter: Reporter) -> None:
        self._reporters.remove(reporter)

    def __len__(self) -> int:
        return len(self._reporters)

    def start_run(self, info: RunInfo) -> None:
        for r in self._reporters:
            r.start_run(info)

    def start_generation(self, generation: int) -> None:
        for r in self._reporters:
            r.start_generation(generation)

    def end_generation(self, stats: GenerationStats, species: Sequence[SpeciesStats] = ()) -> None:
        for r in self._reporters:
            r.end_generation(stats, species)

    def found_solution(self, stats: GenerationStats, agent_id: str) -> None:
        for r in self._reporters:
            r.found_solution(stats, agent_id)

    def info(self, message: str) -> None:
        for r in self._reporters:
            r.info(message)

    def detail(self, message: str) -> None:
        for r in self._reporters:
            r.detail(message)

    def end_run(self, summary: RunSummary) -> None:
        for r in self._reporters:
            r.end_run(summary)


def _fmt(x: float) -> str:
    return f"{x:.6g}"


class ConsoleReporter(Reporter):
    """Progress on a ``rich`` console.

    ``console`` takes the progress (default: stderr) and ``summary`` the final summary line
    (default: stdout when ``console`` is not given, else ``console``), so that piping stdout
    keeps just the result. ``live=None`` picks the live display when the console is a
    terminal and plain lines otherwise; plain lines are never wrapped at the console's width
    (a pipe would otherwise break them at 80 columns, mid-field). ``verbose`` also prints
    :meth:`detail` messages (failed success tests), which would otherwise scroll the live
    display away. ``quiet=True`` prints nothing. The display is refreshed on events only (no
    refresh thread).
    """

    def __init__(
        self,
        console: Console | None = None,
        *,
        quiet: bool = False,
        live: bool | None = None,
        verbose: bool = False,
        summary: Console | None = None,
    ) -> None:
        self.summary = summary or (Console() if console is None else console)
        self.console = console or Console(stderr=True)
        self.quiet = quiet
        self.verbose = verbose
        self.live = self.console.is_terminal if live is None else live
        self._progress: Progress | None = None
        self._task: TaskID | None = None

    def _print(self, text: str, console: Console | None = None) -> None:
        target = console or (self._progress.console if self._progress else self.console)
        target.print(text, highlight=False, soft_wrap=True, markup=False)

    def start_run(self, info: RunInfo) -> None:
        if self.quiet:
            return
        limits = []
        if info.max_evaluations is not None:
            limits.append(f"max {info.max_evaluations} evaluations")
        if info.max_generations is not None:
            limits.append(f"max {info.max_generations} generations")
        if info.fitness_goal is not None:
            limits.append(f"goal {_fmt(info.fitness_goal)}")
        resumed = (
            f", resumed after generation {info.resumed_from_generation}"
            if info.resumed_from_generation is not None
            else ""
        )
        self._print(
            f"evolving {info.morphology}: seed {info.seed}, population {info.population_size}"
            + (", " + ", ".join(limits) if limits else "")
            + resumed
        )
        if self.live:
            self._progress = Progress(
                TextColumn("gen {task.fields[generation]}"),
                BarColumn(),
                TextColumn("{task.completed:.0f} evals"),
                TextColumn("best {task.fields[best]}"),
                TextColumn("species {task.fields[species]}"),
                TextColumn("{task.fields[rate]} evals/s"),
                TimeElapsedColumn(),
                console=self.console,
                auto_refresh=False,
            )
            self._task = self._progress.add_task(
                "evolve",
                total=info.max_evaluations,
                generation="-",
                best="-",
                species="-",
                rate="-",
            )
            self._progress.start()

    def end_generation(self, stats: GenerationStats, species: Sequence[SpeciesStats] = ()) -> None:
        if self.quiet:
            return
        rate = f"{stats.evaluations_per_second:.1f}"
        if self._progress is not None and self._task is not None:
            self._progress.update(
                self._task,
                completed=stats.total_evaluations,
                generation=stats.generation,
                best=_fmt(stats.fitness_max),
                species=stats.species,
                rate=rate,
            )
            self._progress.refresh()
        else:
            self._print(
                f"gen {stats.generation}  evals {stats.total_evaluations}  "
                f"best {_fmt(stats.fitness_max)}  avg {_fmt(stats.fitness_avg)}  "
                f"neurons {stats.neurons_avg:.1f}  species {stats.species}  "
                f"diversity {stats.diversity}  {rate} evals/s"
            )

    def found_solution(self, stats: GenerationStats, agent_id: str) -> None:
        self.info(f"solved by {agent_id} in generation {stats.generation}")

    def info(self, message: str) -> None:
        if not self.quiet:
            self._print(message)

    def detail(self, message: str) -> None:
        if self.verbose:
            self.info(message)

    def end_run(self, summary: RunSummary) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
        if self.quiet:
            return
        self._print(
            f"{'solved' if summary.solved else 'not solved'}"
            + (f" ({summary.reason})" if summary.reason not in ("", "solved") else "")
            + f": {summary.evaluations} evaluations, {summary.generations} generations, "
            f"best {_fmt(summary.best_fitness)}, champion {summary.champion_id}, "
            f"{summary.wall_seconds:.1f} s",
            self.summary,
        )


class JsonlStatsReporter(Reporter):
    """Appends one JSON line per generation to ``path``.

    The file is truncated when a run starts, unless ``append`` is true or the run resumes
    (then lines of generations at or after the resume point are dropped first, so that the
    file never holds a generation twice). Each line is flushed when written.
    """

    def __init__(self, path: str | os.PathLike[str], *, append: bool = False) -> None:
        self.path = Path(path)
        self.append = append
        self._fh: IO[str] | None = None

    def start_run(self, info: RunInfo) -> None:
        self._close()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            resume = info.resumed_from_generation
            if resume is not None and self.path.exists():
                kept = [s for s in read_stats(self.path) if s.generation <= resume]
                tmp = self.path.with_suffix(self.path.suffix + ".tmp")
                with tmp.open("w", encoding="utf-8") as fh:
                    for s in kept:
                        fh.write(json.dumps(s.to_dict()) + "\n")
                os.replace(tmp, self.path)
                mode = "a"
            else:
                mode = "a" if self.append else "w"
            self._fh = self.path.open(mode, encoding="utf-8")
        except OSError as exc:
            raise ReporterError(f"cannot write stats to {self.path}: {exc}") from exc

    def end_generation(self, stats: GenerationStats, species: Sequence[SpeciesStats] = ()) -> None:
        if self._fh is None:
            raise ReporterError("JsonlStatsReporter: end_generation before start_run")
        self._fh.write(json.dumps(stats.to_dict()) + "\n")
        self._fh.flush()

    def end_run(self, summary: RunSummary) -> None:
        self._close()

    def _close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None


def read_stats(path: str | os.PathLike[str]) -> list[GenerationStats]:
    """Read a JSONL stats file; a torn last line (a killed writer) is ignored, any other bad
    line raises :class:`ReporterError` naming its line number."""
    out: list[GenerationStats] = []
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise ReporterError(f"cannot read {path}: {exc}") from exc
    for no, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
            if not isinstance(data, dict):
                raise ReporterError("not an object")
            out.append(GenerationStats.from_dict(data))
        except (json.JSONDecodeError, ReporterError) as exc:
            if no == len(lines) and isinstance(exc, json.JSONDecodeError):
                break
            raise ReporterError(f"{path}:{no}: {exc}") from exc
    return out


def plot_stats(
    stats: Sequence[GenerationStats],
    path: str | os.PathLike[str] | None = None,
    title: str = "",
    *,
    goal: float | None = None,
    solved_generation: int | None = None,
) -> Any:
    """The figure of :func:`actors.evolution.plots.stats_figure` (fitness and diversity
    over evaluations, with the ``goal`` line and the ``solved_generation`` star when
    given), returned as a matplotlib ``Figure`` (for notebooks) and, when ``path`` is
    given, written there atomically in the format its suffix names (``.png``, ``.svg``,
    ``.pdf``). Raises :class:`ReporterError` for an unknown suffix (before drawing), no
    statistics, or a file that cannot be written."""
    if path is not None:
        picture_format(path)
    fig = stats_figure(stats, title=title, goal=goal, solved_generation=solved_generation)
    if path is not None:
        save_figure(fig, path)
    return fig


class PlotReporter(Reporter):
    """Keeps the run's statistics and writes the :func:`plot_stats` figure to ``path``
    (format by suffix) when the run ends, and every ``every`` generations if ``every > 0``,
    with the run's fitness goal and, once :meth:`found_solution` is called, the solved
    star. A resumed run passes the earlier generations as ``history`` (e.g. from
    :func:`read_stats`). The constructor refuses an unknown suffix and a missing
    matplotlib (:class:`ReporterError`)."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        every: int = 0,
        history: Sequence[GenerationStats] = (),
    ) -> None:
        picture_format(path)
        matplotlib_classes()  # fail early, with the install hint
        if every < 0:
            raise ReporterError("every must be >= 0")
        self.path = Path(path)
        self.every = every
        self.history: list[GenerationStats] = list(history)
        self.goal: float | None = None
        self.solved_generation: int | None = None
        #: the last figure written (a matplotlib ``Figure``), None before the first
        self.figure: Any = None
        self._title = ""

    def start_run(self, info: RunInfo) -> None:
        self._title = f"{info.morphology} (seed {info.seed})"
        self.goal = info.fitness_goal
        if info.resumed_from_generation is None:
            self.history = []
            self.solved_generation = None

    def end_generation(self, stats: GenerationStats, species: Sequence[SpeciesStats] = ()) -> None:
        self.history = [s for s in self.history if s.generation < stats.generation]
        self.history.append(stats)
        if self.every and len(self.history) % self.every == 0:
            self._write()

    def found_solution(self, stats: GenerationStats, agent_id: str) -> None:
        self.solved_generation = stats.generation

    def end_run(self, summary: RunSummary) -> None:
        if self.history:
            self._write()

    def _write(self) -> None:
        solved = self.solved_generation
        if solved is not None and all(s.generation != solved for s in self.history):
            solved = None
        self.figure = plot_stats(self.history, self.path, self._title, goal=self.goal,
                                 solved_generation=solved)  # fmt: skip
