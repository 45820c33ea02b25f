"""Morphologies from a plain fitness function, in the style of neat-python's ``eval_genome``.

For a static problem (parity, a regression, a classification...) a scape class is more than
the task needs. :func:`fitness_morphology` registers one from a function that gets the whole
network and returns its fitness::

    import itertools
    from morphologies import fitness_morphology

    def parity(net):
        error = 0.0
        for bits in itertools.product((-1.0, 1.0), repeat=3):
            target = 1.0 if bits.count(1.0) % 2 else -1.0
            net.reset()                           # cases are independent
            error += (net(bits)[0] - target) ** 2
        return 32.0 - error                       # 8 cases, each error at most 4

    fitness_morphology("parity3", inputs=3, outputs=1, evaluate=parity, goal=31.0)

The contract:

* ``evaluate(network)`` or ``evaluate(network, rng)`` (checked when registered): ``network``
  is a :class:`~morphologies.base.Network` -- ``network(inputs) -> outputs`` with ``inputs``
  numbers in, ``outputs`` numbers out (in [-1, 1]); recurrent state carries over between
  calls until ``network.reset()``; an evaluation starts from a reset network. ``rng`` is a
  :class:`random.Random` seeded for this evaluation (for a stochastic task: the same seed gives
  the same evaluation), never the global generator.
* It returns the fitness (a finite number, higher is better), or ``(fitness, solved)``.
* The goal is reached when ``solved`` is true, if the function returns it, and the fitness is at
  least ``goal``, if one is given; with neither the goal is never reached (the run ends at its
  limits).
* One call is one evaluation (the run's ``evaluations`` count calls, tuning included); its
  cycles are the network's steps, at most ``max_calls`` per call (more raise
  :class:`~morphologies.base.MorphologyError`, as do bad inputs or a non-finite fitness).

The morphology has one sensor ``inputs`` and one actuator ``outputs``; its scape is a
:class:`~morphologies.base.NetworkScape`, so it runs wherever episodes run through the episode
loops (the exoself with either phenotype backend, :func:`~morphologies.base.run_episode`).
Its ``sense``/``act`` raise :class:`~morphologies.base.MorphologyError`: it cannot be driven
cycle by cycle.

Registration happens in the calling process; the ``local`` runtime forks its worker processes
when a run starts, so they inherit every morphology registered before (import the module that
registers it first: ``megabrain evolve NAME --module my_task``).
"""

from __future__ import annotations

import inspect
import math
import numbers
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from morphologies.base import ActuatorSpec, Morphology, MorphologyError, Network, SensorSpec
from morphologies.registry import register_morphology

__all__ = [
    "DEFAULT_MAX_CALLS",
    "FitnessTask",
    "FunctionScape",
    "fitness_morphology",
    "fitness_task",
]

#: Network steps one call of a fitness function may make by default.
DEFAULT_MAX_CALLS = 100_000

#: The sensor and actuator names of a fitness morphology.
SENSOR = "inputs"
ACTUATOR = "outputs"

Evaluate = Callable[..., Any]


def _takes_rng(name: str, evaluate: Evaluate) -> bool:
    """Whether ``evaluate`` takes ``(network)`` (False) or ``(network, rng)`` (True)."""
    if not callable(evaluate):
        raise MorphologyError(f"morphology {name!r}: evaluate must be callable")
    try:
        sig = inspect.signature(evaluate)
    except (TypeError, ValueError) as exc:
        raise MorphologyError(f"morphology {name!r}: cannot read evaluate's signature") from exc
    params = list(sig.parameters.values())
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    required = [p for p in positional if p.default is p.empty]
    keyword_ok = all(p.default is not p.empty for p in params if p.kind is p.KEYWORD_ONLY)
    if keyword_ok and len(required) == 1 and len(positional) <= 2:
        return False
    if keyword_ok and len(required) == 2:
        return True
    raise MorphologyError(
        f"morphology {name!r}: evaluate must take (network) or (network, rng), got {sig}"
    )


@dataclass(frozen=True)
class FitnessTask:
    """A fitness function and its goal: the scape factory of a fitness morphology (called
    with the evaluation's rng, it makes a :class:`FunctionScape`)."""

    name: str
    evaluate: Evaluate
    goal: float | None
    takes_rng: bool

    def __call__(self, rng: random.Random) -> FunctionScape:
        return FunctionScape(self, rng)


class FunctionScape:
    """One evaluation of a :class:`FitnessTask` (a :class:`~morphologies.base.NetworkScape`)."""

    def __init__(self, task: FitnessTask, rng: random.Random) -> None:
        self.task = task
        self.rng = rng
        self.goal_reached = False

    def evaluate(self, network: Network) -> float:
        task = self.task
        value = task.evaluate(network, self.rng) if task.takes_rng else task.evaluate(network)
        fitness, solved = self._outcome(value)
        goal_met = task.goal is None or fitness >= task.goal
        self.goal_reached = (solved if solved is not None else task.goal is not None) and goal_met
        return fitness

    def _outcome(self, value: Any) -> tuple[float, bool | None]:
        name = self.task.name
        solved: bool | None = None
        if isinstance(value, tuple):
            if len(value) != 2 or not isinstance(value[1], bool | np.bool_):
                raise MorphologyError(
                    f"morphology {name!r}: evaluate returned {value!r}; "
                    "expected a fitness or (fitness, solved)"
                )
            value, solved = value[0], bool(value[1])
        if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Real):
            raise MorphologyError(f"morphology {name!r}: evaluate returned {value!r}, not a number")
        fitness = float(value)
        if not math.isfinite(fitness):
            raise MorphologyError(f"morphology {name!r}: evaluate returned {fitness}")
        return fitness, solved

    def sense(self, sensor: str) -> list[float]:
        raise MorphologyError(self._whole())

    def act(self, actuator: str, output: Sequence[float]) -> tuple[float, bool]:
        raise MorphologyError(self._whole())

    def _whole(self) -> str:
        return (
            f"morphology {self.task.name!r} is a fitness function: it evaluates whole networks "
            "(NetworkScape.evaluate), not cycle by cycle"
        )


def fitness_task(morphology: Morphology) -> FitnessTask | None:
    """The :class:`FitnessTask` of a fitness morphology, ``None`` for any other."""
    factory = morphology.scape_factory
    return factory if isinstance(factory, FitnessTask) else None


def fitness_morphology(
    name: str,
    *,
    inputs: int,
    outputs: int,
    evaluate: Evaluate,
    goal: float | None = None,
    max_calls: int = DEFAULT_MAX_CALLS,
    description: str = "",
    register: bool = True,
    replace: bool = False,
) -> Morphology:
    """A morphology evaluated by ``evaluate`` (see the module docstring), registered under
    ``name`` unless ``register`` is false (``replace`` lets it take the place of a morphology
    of that name). Raises :class:`~morphologies.base.MorphologyError` on bad arguments."""
    if not isinstance(name, str) or not name:
        raise MorphologyError("a morphology needs a non-empty name")
    for what, n in (("inputs", inputs), ("outputs", outputs), ("max_calls", max_calls)):
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise MorphologyError(f"morphology {name!r}: {what} must be a positive int, got {n!r}")
    if goal is not None:
        if isinstance(goal, bool) or not isinstance(goal, numbers.Real):
            raise MorphologyError(f"morphology {name!r}: goal must be a number, got {goal!r}")
        goal = float(goal)
        if not math.isfinite(goal):
            raise MorphologyError(f"morphology {name!r}: goal must be finite")
    task = FitnessTask(name, evaluate, goal, _takes_rng(name, evaluate))
    doc = description or (inspect.getdoc(evaluate) or "").partition("\n")[0]
    morphology = Morphology(
        name=name,
        sensors=(SensorSpec(SENSOR, inputs),),
        actuators=(ActuatorSpec(ACTUATOR, outputs),),
        scape_factory=task,
        max_cycles=max_calls,
        description=doc or f"fitness function {getattr(evaluate, '__qualname__', evaluate)!r}",
    )
    if register:
        register_morphology(morphology, replace=replace)
    return morphology
