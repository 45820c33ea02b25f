"""Evolution layer: DXNN's exoself and population monitor, their cores and their shells.

Pure cores (no actor, no clock, no global RNG: every random choice takes a
:class:`random.Random` passed in, so the same seed gives the same result):

* :mod:`~actors.evolution.candidate` -- the plain records selection works on.
* :mod:`~actors.evolution.selection` -- ``competition``, ``top3`` and the hall-of-fame
  algorithms ``hof_competition``, ``hof_rank``, ``hof_top3``, ``hof_efficiency``,
  ``hof_random``; steady-state parent choice.
* :mod:`~actors.evolution.hall_of_fame` -- per-species halls of fame (Pareto entry rules).
* :mod:`~actors.evolution.fitness` -- fitness postprocessors ``none``,
  ``size_proportional``, ``novelty_proportional`` and the novelty archive.
* :mod:`~actors.evolution.species` -- grouping by fingerprint, diversity, per-species stats.
* :mod:`~actors.evolution.tuning` -- the exoself's tuning phase: neuron selection, duration,
  spread, weight perturbation, the tuning loop's bookkeeping.
* :mod:`~actors.evolution.exoself_core` and :mod:`~actors.evolution.monitor_core` -- one
  agent's tuning session and episodes; one run of the population as a state machine.
* :mod:`~actors.evolution.stats` -- per-generation statistics;
  :mod:`~actors.evolution.success` -- the morphologies' success tests;
  :mod:`~actors.evolution.setup` -- from a configuration to the genotype layer's records.
* :mod:`~actors.evolution.config` -- typed TOML configuration (the one reader of
  configuration files); :mod:`~actors.evolution.constraint` -- the ``[constraint]`` table and
  shared value checks.

Shells:

* :mod:`~actors.evolution.exoself` and :mod:`~actors.evolution.monitor` -- the supervised
  actors that drive those cores (their timers go through the runtime);
  :mod:`~actors.evolution.backends` -- the phenotype backends they build networks with.
* :mod:`~actors.evolution.run` (``evolve``: starts the actor system, reads the clock for the
  run's timings) and :mod:`~actors.evolution.api` (the one-call API).
* :mod:`~actors.evolution.checkpoint` -- the run in the SQLite genotype store;
  :mod:`~actors.evolution.reporters` -- observers that print, log and plot;
  :mod:`~actors.evolution.plots`, :mod:`~actors.evolution.pictures`,
  :mod:`~actors.evolution.draw`, :mod:`~actors.evolution.draw_layout` -- figures and files.

Errors all derive from :class:`actors.evolution.errors.EvolutionError`.
See ``docs/evolution.md`` and ``docs/evolve.md``.
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
