"""Evolution layer: DXNN's population-level machinery as pure cores.

Modules (none of them starts an actor or reads the clock or the global RNG; every random
choice takes a :class:`random.Random` passed in):

* :mod:`actors.evolution.candidate` -- the plain records selection works on.
* :mod:`actors.evolution.selection` -- ``competition``, ``top3`` and the hall-of-fame
  algorithms ``hof_competition``, ``hof_rank``, ``hof_top3``, ``hof_efficiency``,
  ``hof_random``; steady-state parent choice.
* :mod:`actors.evolution.hall_of_fame` -- per-species halls of fame (Pareto entry rules).
* :mod:`actors.evolution.fitness` -- fitness postprocessors ``none``,
  ``size_proportional``, ``novelty_proportional`` and the novelty archive.
* :mod:`actors.evolution.species` -- grouping by fingerprint, diversity, per-species stats.
* :mod:`actors.evolution.tuning` -- the exoself's tuning phase: neuron selection, duration,
  spread, weight perturbation with momentum and saturation, the tuning loop's bookkeeping.
* :mod:`actors.evolution.stats` and :mod:`actors.evolution.reporters` -- per-generation
  statistics and the observers that print, log and plot them.
* :mod:`actors.evolution.config` -- typed TOML configuration of the monitor and tuning;
  :mod:`actors.evolution.constraint` -- the ``[constraint]`` table and shared value checks.

Errors all derive from :class:`actors.evolution.errors.EvolutionError`.
See ``docs/evolution.md``.
"""

from actors.evolution.errors import (
    ConfigError,
    EvolutionError,
    EvolutionUsageError,
    ReporterError,
    SelectionError,
    TuningError,
)

__all__ = [
    "ConfigError",
    "EvolutionError",
    "EvolutionUsageError",
    "ReporterError",
    "SelectionError",
    "TuningError",
]
