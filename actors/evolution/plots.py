"""The figure of a run's statistics (drawn by :func:`~actors.evolution.reporters.plot_stats`).

Two panels over the run's evaluations (``GenerationStats.total_evaluations``, the count at
the end of each generation):

* fitness: the best of each generation, the best so far (a step line), the mean, a band for
  the population's range (min to max) and a darker one for mean ± std *clipped to that
  range* (a skewed population's mean - std can fall below its worst member; the band never
  does), the champion's validation fitness where measured, the run's fitness goal as a
  horizontal line, and a star where the run was solved;
* diversity: distinct fingerprints and species per generation, with the population size.

Legends sit outside the panels, to the right, so they never hide data. The figure is a
plain matplotlib ``Figure`` on an Agg canvas (no global backend switch).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from actors.evolution.errors import ReporterError
from actors.evolution.pictures import matplotlib_classes
from actors.evolution.stats import GenerationStats

__all__ = ["stats_figure"]

_DOTS_BELOW = 40  # runs of fewer generations get a dot per generation on every line


def _best_so_far(values: Sequence[float]) -> list[float]:
    out: list[float] = []
    for v in values:
        out.append(v if not out else max(out[-1], v))
    return out


def stats_figure(
    stats: Sequence[GenerationStats],
    *,
    title: str = "",
    goal: float | None = None,
    solved_generation: int | None = None,
) -> Any:
    """The figure described in the module docstring. ``goal`` is the run's fitness goal (a
    line when given); ``solved_generation`` the generation that solved the run (a star at
    its evaluations and best fitness). Raises :class:`ReporterError` for no statistics or
    a ``solved_generation`` that is not among them."""
    figure_cls, canvas_cls = matplotlib_classes()
    if not stats:
        raise ReporterError("no statistics to plot")
    x = [s.total_evaluations for s in stats]
    best = [s.fitness_max for s in stats]
    low = [s.fitness_min for s in stats]
    mean = [s.fitness_avg for s in stats]
    spread_lo = [max(lo, m - s.fitness_std) for lo, m, s in zip(low, mean, stats, strict=True)]
    spread_hi = [min(hi, m + s.fitness_std) for hi, m, s in zip(best, mean, stats, strict=True)]

    dots = "." if len(stats) < _DOTS_BELOW else ""  # a short run: show every generation
    fig = figure_cls(figsize=(9.5, 6.5), dpi=100, layout="constrained")
    canvas_cls(fig)
    ax1, ax2 = fig.subplots(2, 1, sharex=True, height_ratios=(2.2, 1.0))
    ax1.fill_between(x, low, best, color="tab:gray", alpha=0.18, lw=0,
                     label="population range (min to max)", gid="band:range")  # fmt: skip
    ax1.fill_between(x, spread_lo, spread_hi, color="tab:blue", alpha=0.25, lw=0,
                     label="mean ± std, within the range", gid="band:std")  # fmt: skip
    ax1.plot(x, mean, color="tab:blue", lw=1.0, marker=dots, label="mean", gid="line:mean")
    ax1.plot(x, best, color="tab:red", lw=0.8, marker=".", ms=4,
             label="best of the generation", gid="line:best")  # fmt: skip
    ax1.plot(x, _best_so_far(best), color="darkred", lw=2.0, drawstyle="steps-post",
             label="best so far", gid="line:best_so_far")  # fmt: skip
    validated = [(s.total_evaluations, s.validation_fitness) for s in stats
                 if s.validation_fitness is not None]  # fmt: skip
    if validated:
        ax1.plot([v[0] for v in validated], [v[1] for v in validated], "o", color="tab:green",
                 ms=5, label="champion's validation fitness", gid="line:validation")  # fmt: skip
    if goal is not None:
        ax1.axhline(goal, color="tab:green", ls="--", lw=1.2, label=f"goal {goal:g}",
                    gid="line:goal")  # fmt: skip
    if solved_generation is not None:
        solved = next((s for s in stats if s.generation == solved_generation), None)
        if solved is None:
            raise ReporterError(f"generation {solved_generation} is not among the statistics")
        ax1.plot([solved.total_evaluations], [solved.fitness_max], ls="none", marker="*",
                 ms=15, color="gold", mec="black", mew=0.8, zorder=5, gid="line:solved",
                 label=f"solved: generation {solved.generation}, "
                 f"{solved.total_evaluations} evaluations")  # fmt: skip
    ax1.set_ylabel("fitness")
    ax1.grid(alpha=0.3)
    ax1.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0,
               fontsize="small")  # fmt: skip
    ax2.plot(x, [s.diversity for s in stats], color="tab:purple", marker=dots,
             label="diversity (distinct fingerprints)", gid="line:diversity")  # fmt: skip
    ax2.plot(x, [s.species for s in stats], color="tab:orange", marker=dots, label="species",
             gid="line:species")  # fmt: skip
    ax2.plot(x, [s.population for s in stats], color="tab:gray", ls=":", marker=dots,
             label="population", gid="line:population")  # fmt: skip
    ax2.set_xlabel("evaluations")
    ax2.set_ylabel("count")
    ax2.set_ylim(bottom=0)
    ax2.grid(alpha=0.3)
    ax2.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0,
               fontsize="small")  # fmt: skip
    if title:
        fig.suptitle(title)
    return fig
