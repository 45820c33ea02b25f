"""The one-call Python API: :func:`evolve` a morphology, or a plain fitness function.

::

    import actors                      # actors.evolve is this module's evolve

    result = actors.evolve("xor", seed=1, max_evaluations=5000)
    result.solved, result.evaluations, result.champion       # champion: an Agent
    net = result.network()                                   # callable: net([-1, 1])

    def parity(net):                      # a fitness function: the whole network in
        ...
        return fitness                    # or (fitness, solved)

    result = actors.evolve(parity, inputs=3, outputs=1, goal=31.0, population=10)

Settings are keywords: the common ones by name (``population``, ``max_evaluations``,
``max_generations``, ``fitness_goal``, ``workers``), any other knob through its TOML table as a
mapping (``tuning={"duration": "const"}``, ``constraint={"neural_afs": ["tanh"]}``), over
``config`` (an :class:`~actors.evolution.config.EvolutionConfig`, a parsed TOML mapping or the
path of a TOML file). Everything is validated as ``--config`` files are (unknown keys and bad
values raise :class:`~actors.evolution.errors.ConfigError` naming the key).

A fitness function is registered as a morphology
(:func:`morphologies.function.fitness_morphology`) named ``name`` (default: the function's
``__name__``) before the run starts, so the ``local`` runtime's forked workers know it; calling
:func:`evolve` again with a function of the same name replaces that registration (a notebook
re-running a cell), but never a morphology that is not a fitness function.

The result is :class:`~actors.evolution.run.RunResult`. Progress goes to the console with
``progress=True`` (:class:`~actors.evolution.reporters.ConsoleReporter`); ``reporters`` adds
any others.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from actors.evolution.config import EvolutionConfig, config_from_mapping, load_config
from actors.evolution.errors import ConfigError, EvolutionError
from actors.evolution.reporters import ConsoleReporter, Reporter
from actors.evolution.run import EvolveOptions, RunResult
from actors.evolution.run import evolve as run_evolution
from actors.evolution.setup import build_constraint
from morphologies import Morphology, MorphologyError, get_morphology, morphology_names
from morphologies.function import fitness_morphology, fitness_task

__all__ = ["UNSET", "evolve", "resolve_problem"]


class _Unset:
    """The default of a setting left to the configuration (``None`` means "no limit")."""

    def __repr__(self) -> str:
        return "UNSET"


UNSET: Any = _Unset()


def resolve_problem(
    problem: str | Morphology | Callable[..., Any],
    *,
    inputs: int | None = None,
    outputs: int | None = None,
    goal: float | None = None,
    name: str | None = None,
) -> str:
    """The registered morphology name of ``problem``: a name (checked), a
    :class:`~morphologies.base.Morphology` (registered if it is not yet), or a fitness function
    (registered as ``name``, see the module docstring; needs ``inputs`` and ``outputs``)."""
    if isinstance(problem, str):
        get_morphology(problem)
        return problem
    if isinstance(problem, Morphology):
        if problem.name not in morphology_names() or get_morphology(problem.name) is not problem:
            from morphologies import register_morphology

            register_morphology(problem)
        return problem.name
    if not callable(problem):
        raise MorphologyError(
            f"expected a morphology name, a Morphology or a fitness function, got {problem!r}"
        )
    if inputs is None or outputs is None:
        raise MorphologyError("a fitness function needs inputs= and outputs=")
    label = name or getattr(problem, "__name__", "")
    if not label or label == "<lambda>":
        raise MorphologyError("name the fitness function's morphology: name=...")
    replace = False
    if label in morphology_names():
        if fitness_task(get_morphology(label)) is None:
            raise MorphologyError(
                f"{label!r} is a morphology that is not a fitness function: pass name=..."
            )
        replace = True
    fitness_morphology(
        label, inputs=inputs, outputs=outputs, evaluate=problem, goal=goal, replace=replace
    )
    return label


def _base_config(
    config: EvolutionConfig | Mapping[str, Any] | str | os.PathLike[str] | None,
) -> Any:
    if config is None:
        return EvolutionConfig()
    if isinstance(config, EvolutionConfig):
        return config
    if isinstance(config, Mapping):
        return config_from_mapping(config)
    if isinstance(config, str | os.PathLike):
        return load_config(Path(config))
    raise ConfigError(f"config must be an EvolutionConfig, a mapping or a path, got {config!r}")


def _settings(
    config: EvolutionConfig,
    tables: Mapping[str, Mapping[str, Any] | None],
    shorthands: Mapping[tuple[str, str], Any],
) -> EvolutionConfig:
    data = config.to_dict()
    for table, values in tables.items():
        if values is None:
            continue
        if not isinstance(values, Mapping):
            raise ConfigError(f"{table}: expected a mapping of settings, got {values!r}")
        data[table] = {**data[table], **values}
    for (table, key), value in shorthands.items():
        if value is not UNSET:
            data[table] = {**data[table], key: "none" if value is None else value}
    return config_from_mapping(data)


def evolve(
    problem: str | Morphology | Callable[..., Any],
    *,
    inputs: int | None = None,
    outputs: int | None = None,
    goal: float | None = None,
    name: str | None = None,
    seed: int = 1,
    config: EvolutionConfig | Mapping[str, Any] | str | os.PathLike[str] | None = None,
    population: int | None = None,
    max_evaluations: int | None = UNSET,
    max_generations: int | None = UNSET,
    fitness_goal: float | None = UNSET,
    monitor: Mapping[str, Any] | None = None,
    stopping: Mapping[str, Any] | None = None,
    selection: Mapping[str, Any] | None = None,
    novelty: Mapping[str, Any] | None = None,
    tuning: Mapping[str, Any] | None = None,
    constraint: Mapping[str, Any] | None = None,
    phenotype: str = "compiled",
    runtime: str = "simple",
    workers: int | None = None,
    store: str | None = None,
    resume: bool = False,
    progress: bool = False,
    verbose: bool = False,
    reporters: Sequence[Reporter] = (),
) -> RunResult:
    """Evolve networks for ``problem`` and return the run's result (see the module docstring).

    ``problem``: a morphology name (``"xor"``, ``"dpnv"``, ``"gym:CartPole-v1"``...), a
    :class:`~morphologies.base.Morphology`, or a fitness function with ``inputs``, ``outputs``
    and optionally ``goal`` and ``name``. ``max_evaluations`` / ``max_generations`` /
    ``fitness_goal`` take ``None`` for "no limit"; left out, the configuration decides.
    ``phenotype`` (``compiled`` | ``actors``), ``runtime`` (``simple`` | ``local``),
    ``workers``, ``store`` and ``resume`` are those of ``megabrain evolve``.

    Raises :class:`~morphologies.base.MorphologyError` for a bad problem,
    :class:`~actors.evolution.errors.EvolutionError` subclasses for bad settings.
    """
    morphology = resolve_problem(problem, inputs=inputs, outputs=outputs, goal=goal, name=name)
    cfg = _settings(
        _base_config(config),
        {
            "monitor": monitor,
            "stopping": stopping,
            "selection": selection,
            "novelty": novelty,
            "tuning": tuning,
            "constraint": constraint,
        },
        {
            ("monitor", "population_size"): UNSET if population is None else population,
            ("monitor", "workers"): UNSET if workers is None else workers,
            ("stopping", "max_evaluations"): max_evaluations,
            ("stopping", "max_generations"): max_generations,
            ("stopping", "fitness_goal"): fitness_goal,
        },
    )
    build_constraint(morphology, cfg)
    if resume and store is None:
        raise EvolutionError("resume needs a store")
    shown: list[Reporter] = [ConsoleReporter(verbose=verbose)] if progress else []
    opts = EvolveOptions(
        morphology=morphology,
        seed=seed,
        config=cfg,
        backend=phenotype,
        runtime=runtime,
        workers=cfg.monitor.workers,
        store=store,
        resume=resume,
    )
    return run_evolution(opts, [*shown, *reporters])
