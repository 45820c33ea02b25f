"""Per-generation statistics and the run records reporters receive.

:func:`generation_stats` computes DXNN2's ``#stat`` figures for a population (main fitness
average / std / max / min, neuron-count average / std, diversity) plus the evaluation
counts and times the monitor passes in. Times are given, never read here: the monitor
measures them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, fields

from actors.evolution.candidate import Candidate
from actors.evolution.errors import ReporterError
from actors.evolution.species import diversity, mean_std

__all__ = ["GenerationStats", "RunInfo", "RunSummary", "generation_stats"]


@dataclass(frozen=True, slots=True)
class GenerationStats:
    """One generation's statistics (in steady state: one reporting step).

    Attributes:
        generation: 0-based generation index.
        evaluations: evaluations spent in this generation (tuning evaluations included).
        total_evaluations: evaluations since the run began.
        fitness_avg, fitness_std, fitness_max, fitness_min: over main fitness.
        neurons_avg, neurons_std: over neuron counts.
        diversity: distinct fingerprints in the population.
        species: number of species.
        population: number of agents evaluated.
        best_agent_id: the agent with the highest main fitness (first on ties).
        best_fitness: its fitness vector.
        wall_seconds: wall time of this generation.
        elapsed_seconds: wall time since the run began.
        validation_fitness: the champion's validation fitness, when one was measured.
    """

    generation: int
    evaluations: int
    total_evaluations: int
    fitness_avg: float
    fitness_std: float
    fitness_max: float
    fitness_min: float
    neurons_avg: float
    neurons_std: float
    diversity: int
    species: int
    population: int
    best_agent_id: str
    best_fitness: tuple[float, ...]
    wall_seconds: float
    elapsed_seconds: float
    validation_fitness: float | None = None

    @property
    def evaluations_per_second(self) -> float:
        """Run-average evaluation rate (0 before any time has passed)."""
        return self.total_evaluations / self.elapsed_seconds if self.elapsed_seconds > 0 else 0.0

    def to_dict(self) -> dict[str, object]:
        """A JSON-ready mapping (the vector becomes a list)."""
        d = asdict(self)
        d["best_fitness"] = list(self.best_fitness)
        return d

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> GenerationStats:
        """Rebuild from :meth:`to_dict`'s output; raises :class:`ReporterError` on a record
        with missing, unknown or mistyped fields."""
        names = {f.name for f in fields(cls)}
        unknown = set(data) - names
        if unknown:
            raise ReporterError(f"unknown stats fields: {sorted(unknown)}")
        try:
            kwargs = dict(data)
            raw = kwargs["best_fitness"]
            if not isinstance(raw, list | tuple):
                raise TypeError("best_fitness must be a list")
            kwargs["best_fitness"] = tuple(float(v) for v in raw)
            out = cls(**kwargs)  # type: ignore[arg-type]
        except (KeyError, TypeError, ValueError) as exc:
            raise ReporterError(f"bad stats record: {exc}") from exc
        for f in fields(cls):
            v = getattr(out, f.name)
            if f.name == "validation_fitness" and v is None:
                continue
            if f.name == "best_agent_id":
                ok = isinstance(v, str)
            elif f.name == "best_fitness":
                ok = True
            elif f.type in ("int",):
                ok = isinstance(v, int) and not isinstance(v, bool)
            else:
                ok = isinstance(v, int | float) and not isinstance(v, bool)
            if not ok:
                raise ReporterError(f"bad stats record: {f.name} = {v!r}")
        return out


def generation_stats(
    generation: int,
    candidates: Sequence[Candidate],
    *,
    evaluations: int,
    total_evaluations: int,
    wall_seconds: float,
    elapsed_seconds: float,
    validation_fitness: float | None = None,
) -> GenerationStats:
    """Statistics of one evaluated generation; ``candidates`` must not be empty."""
    if not candidates:
        raise ReporterError("no candidates to summarise")
    fit = [c.main_fitness for c in candidates]
    f_avg, f_std = mean_std(fit)
    n_avg, n_std = mean_std([float(c.size) for c in candidates])
    best = max(range(len(candidates)), key=lambda i: (fit[i], -i))
    if validation_fitness is not None and not math.isfinite(validation_fitness):
        raise ReporterError("validation fitness must be finite")
    return GenerationStats(
        generation=generation,
        evaluations=evaluations,
        total_evaluations=total_evaluations,
        fitness_avg=f_avg,
        fitness_std=f_std,
        fitness_max=max(fit),
        fitness_min=min(fit),
        neurons_avg=n_avg,
        neurons_std=n_std,
        diversity=diversity(candidates),
        species=len({c.specie_id for c in candidates}),
        population=len(candidates),
        best_agent_id=candidates[best].agent_id,
        best_fitness=candidates[best].fitness,
        wall_seconds=wall_seconds,
        elapsed_seconds=elapsed_seconds,
        validation_fitness=validation_fitness,
    )


@dataclass(frozen=True, slots=True)
class RunInfo:
    """What a run is, given to reporters when it starts (limits ``None`` = unlimited)."""

    morphology: str
    seed: int
    population_size: int
    max_evaluations: int | None = None
    max_generations: int | None = None
    fitness_goal: float | None = None
    resumed_from_generation: int | None = None


@dataclass(frozen=True, slots=True)
class RunSummary:
    """How a run ended, given to reporters when it finishes."""

    solved: bool
    evaluations: int
    generations: int
    best_fitness: float
    champion_id: str | None
    wall_seconds: float
    reason: str = ""
