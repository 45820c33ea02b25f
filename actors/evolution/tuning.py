"""The exoself's tuning phase (DXNN's memetic weight tuning), as pure functions.

An exoself evaluates its network, then repeatedly perturbs the weights of a few neurons and
re-evaluates, keeping the perturbation when the fitness improved and restoring the best
weights otherwise, until ``max_attempts`` evaluations in a row brought no improvement.

* Which neurons, and how hard: *tuning selection* functions (DXNN2
  ``tuning_selection.erl``) choose neurons by **age** -- the agent's generation minus the
  generation in which the neuron was created or last touched by mutation -- and give each a
  spread ``perturbation_range * pi * annealing ** age`` (:func:`spread`).
* How long: *tuning duration* functions (DXNN2 ``tuning_duration.erl``) give
  ``max_attempts``.
* How: :func:`perturb_weights` is DXNN2 ``neuron.erl``'s ``perturb_IPIdPs``, the rule of
  :mod:`actors.neural.perturb` (momentum 0.5, saturation to ``[-pi, pi]``), raising this
  package's :class:`~actors.evolution.errors.TuningError`.
* The loop's bookkeeping: :func:`observe` (DXNN2 ``exoself.erl``'s ``loop(S, gt)``).

Deviations (see ``docs/evolution.md``): selection keeps the input order of neurons (DXNN2
returns them reversed); ``active`` falls back to the first neuron when no neuron is young
enough, like its siblings do (DXNN2's ``active`` returns an empty list and the tuning
attempt is then wasted); a neuron whose generation is above the agent's counts as age 0;
when the random draws pick no weight at all, one weight chosen uniformly is perturbed, so a
perturbation with ``spread > 0`` always moves something; :func:`perturb_parameters` returns
the perturbed plasticity parameters (DXNN2's ``perturb_PF`` computes and then drops them).
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from actors.evolution.candidate import Fitness, Registry, as_fitness, dominance, erl_round
from actors.evolution.errors import SelectionError, TuningError
from actors.neural import perturb
from actors.neural.errors import PerturbError
from actors.neural.perturb import MOMENTUM, SAT_LIMIT, WeightBlock

__all__ = [
    "DURATIONS",
    "MOMENTUM",
    "SAT_LIMIT",
    "SELECTIONS",
    "TunableNeuron",
    "TuningState",
    "TuningStep",
    "neuron_age",
    "observe",
    "perturb_parameters",
    "perturb_weights",
    "select_for_tuning",
    "spread",
    "start_tuning",
    "tuning_attempts",
]

#: Neurons younger than this many generations are "active" (DXNN2's literal 3).
ACTIVE_AGE = 3

Choice = tuple[str, float]


@dataclass(frozen=True, slots=True)
class TunableNeuron:
    """What tuning needs to know of a neuron: its id, the generation in which it was
    created or last mutated, and how many weights it has (inputs incl. bias)."""

    neuron_id: str
    generation: int
    weight_count: int = 0

    def __post_init__(self) -> None:
        if not isinstance(self.neuron_id, str) or not self.neuron_id:
            raise TuningError(f"neuron_id must be a non-empty str: {self.neuron_id!r}")
        for name in ("generation", "weight_count"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 0:
                raise TuningError(f"{self.neuron_id}: {name} must be an int >= 0, got {v!r}")


def neuron_age(neuron: TunableNeuron, agent_generation: int) -> int:
    """``agent_generation - neuron.generation``, never below 0."""
    return max(0, agent_generation - neuron.generation)


def spread(perturbation_range: float, annealing: float, age: int) -> float:
    """``perturbation_range * pi * annealing ** age``: older neurons move less."""
    return perturbation_range * math.pi * annealing**age


def _check_inputs(
    neurons: Sequence[TunableNeuron], perturbation_range: float, annealing: float
) -> None:
    if not neurons:
        raise TuningError("no neurons to tune")
    if not (perturbation_range > 0 and math.isfinite(perturbation_range)):
        raise TuningError("perturbation_range must be a finite number > 0")
    if not 0 < annealing <= 1:
        raise TuningError("annealing must be in (0, 1]")


def _extract(
    neurons: Sequence[TunableNeuron],
    generation: int,
    age_limit: float,
    pr: float,
    ap: float,
) -> list[Choice]:
    """DXNN2's ``extract_CurGenNIdPs``: neurons with ``gen >= generation - age_limit``."""
    return [
        (n.neuron_id, spread(pr, ap, neuron_age(n, generation)))
        for n in neurons
        if n.generation >= generation - age_limit
    ]


def _or_first(chosen: list[Choice], neurons: Sequence[TunableNeuron], pr: float) -> list[Choice]:
    return chosen or [(neurons[0].neuron_id, pr * math.pi)]


def _random_subset(pool: list[Choice], rng: random.Random) -> list[Choice]:
    """DXNN2's ``choose_randomNIdPs``: keep each with probability ``1/sqrt(len)``; if none
    is kept, one chosen uniformly."""
    p = 1 / math.sqrt(len(pool))
    kept = [c for c in pool if rng.random() < p]
    return kept or [pool[rng.randrange(len(pool))]]


def _dynamic_age_limit(rng: random.Random) -> float:
    # sqrt(1/U), U uniform in (0, 1]: 1 <= limit; P(limit <= 2) = 0.75.
    return math.sqrt(1 / (1.0 - rng.random()))


SelectionFn = Callable[[Sequence[TunableNeuron], int, float, float, random.Random], list[Choice]]
AgeLimit = Callable[[random.Random], float]

#: DXNN2 ``tuning_selection.erl`` as a table: a selection function's name -> the age limit
#: of the neurons it chooses (drawn from the rng for ``dynamic``). ``NAME`` chooses every
#: neuron whose age is within the limit, each with its age's spread, or the first neuron
#: (spread ``perturbation_range * pi``) when none is; ``NAME_random`` keeps each of those with
#: probability ``1/sqrt(pool size)`` (one chosen uniformly if none is kept).
AGE_LIMITS: dict[str, AgeLimit] = {
    "dynamic": _dynamic_age_limit,
    "active": lambda rng: ACTIVE_AGE,
    "current": lambda rng: 0,
    "all": lambda rng: math.inf,
}

#: Tuning selection functions by name (the table's, and any registered later).
SELECTIONS: Registry[SelectionFn] = Registry(
    "tuning selection",
    ("neurons", "agent_generation", "perturbation_range", "annealing", "rng"),
    TuningError,
)


def _within(age_limit: AgeLimit) -> SelectionFn:
    """The selection of the neurons within ``age_limit`` (or the first one)."""

    def select(
        neurons: Sequence[TunableNeuron],
        agent_generation: int,
        perturbation_range: float,
        annealing: float,
        rng: random.Random,
    ) -> list[Choice]:
        limit = age_limit(rng)
        chosen = _extract(neurons, agent_generation, limit, perturbation_range, annealing)
        return _or_first(chosen, neurons, perturbation_range)

    return select


def _random_of(pool: SelectionFn) -> SelectionFn:
    """``pool``'s choices, each kept with probability ``1/sqrt(pool size)``."""

    def select(
        neurons: Sequence[TunableNeuron],
        agent_generation: int,
        perturbation_range: float,
        annealing: float,
        rng: random.Random,
    ) -> list[Choice]:
        chosen = pool(neurons, agent_generation, perturbation_range, annealing, rng)
        return _random_subset(chosen, rng)

    return select


for _name, _limit in AGE_LIMITS.items():
    _pool = SELECTIONS.register(_name, _within(_limit))
    SELECTIONS.register(f"{_name}_random", _random_of(_pool))


def select_for_tuning(
    name: str,
    neurons: Sequence[TunableNeuron],
    agent_generation: int,
    perturbation_range: float,
    annealing: float,
    rng: random.Random,
) -> tuple[Choice, ...]:
    """Run the tuning selection function ``name``: ``(neuron_id, spread)`` pairs, never
    empty, ids unique, in input order. Raises :class:`TuningError` on bad inputs."""
    fn = SELECTIONS.get(name)
    _check_inputs(neurons, perturbation_range, annealing)
    ids = [n.neuron_id for n in neurons]
    if len(set(ids)) != len(ids):
        raise TuningError("duplicate neuron ids")
    return tuple(fn(neurons, agent_generation, perturbation_range, annealing, rng))


# --- tuning duration ------------------------------------------------------------------

DurationFn = Callable[[float, Sequence[TunableNeuron], int], int]

#: Tuning duration functions by name: ``(parameter, neurons, agent_generation) -> attempts``.
DURATIONS: Registry[DurationFn] = Registry(
    "tuning duration", ("parameter", "neurons", "agent_generation"), TuningError
)


def _recent(neurons: Sequence[TunableNeuron], generation: int) -> list[TunableNeuron]:
    return [n for n in neurons if n.generation >= generation - ACTIVE_AGE]


def _sat(v: int, lo: int, hi: int) -> int:
    return max(lo, min(hi, v))


def const(parameter: float, neurons: Sequence[TunableNeuron], agent_generation: int) -> int:
    """A fixed number of attempts (the parameter, at least 1)."""
    if parameter < 1:
        raise TuningError("const tuning duration needs a parameter >= 1")
    return int(parameter)


def wsize_proportional(
    parameter: float, neurons: Sequence[TunableNeuron], agent_generation: int
) -> int:
    """``10 + sat(round(W ** p), 0, 100)``, W = weights of neurons at most 3 generations old."""
    w = sum(n.weight_count for n in _recent(neurons, agent_generation))
    return 10 + _sat(erl_round(w**parameter), 0, 100)


def nsize_proportional(
    parameter: float, neurons: Sequence[TunableNeuron], agent_generation: int
) -> int:
    """``20 + sat(round(N ** p), 0, 100)``, N = neurons at most 3 generations old."""
    n = len(_recent(neurons, agent_generation))
    return 20 + _sat(erl_round(n**parameter), 0, 100)


DURATIONS.register("const", const)
DURATIONS.register("wsize_proportional", wsize_proportional)
DURATIONS.register("nsize_proportional", nsize_proportional)


def tuning_attempts(
    name: str, parameter: float, neurons: Sequence[TunableNeuron], agent_generation: int
) -> int:
    """``max_attempts`` from the tuning duration function ``name``."""
    fn = DURATIONS.get(name)
    if not (math.isfinite(parameter) and parameter >= 0):
        raise TuningError("tuning duration parameter must be a finite number >= 0")
    return fn(parameter, neurons, agent_generation)


# --- perturbation -----------------------------------------------------------------------


def perturb_weights(
    blocks: Sequence[WeightBlock],
    spread: float,
    rng: random.Random,
    *,
    sat_limit: float = SAT_LIMIT,
    momentum: float = MOMENTUM,
) -> list[WeightBlock]:
    """Perturb a neuron's input weight blocks as DXNN2's ``perturb_IPIdPs`` does: the rule
    of :func:`actors.neural.perturb.perturb_weights`, raising :class:`TuningError` on
    mismatched shapes or a bad spread."""
    try:
        return perturb.perturb_weights(blocks, spread, rng, sat_limit=sat_limit, momentum=momentum)
    except PerturbError as exc:
        raise TuningError(str(exc)) from exc


def perturb_parameters(
    parameters: Sequence[float], spread: float, rng: random.Random, sat_limit: float = SAT_LIMIT
) -> tuple[float, ...]:
    """Perturb plasticity parameters: each moves by ``(u - 0.5) * spread``, saturated."""
    if not (math.isfinite(spread) and spread >= 0):
        raise TuningError("spread must be a finite number >= 0")
    return tuple(
        min(sat_limit, max(-sat_limit, p + (rng.random() - 0.5) * spread)) for p in parameters
    )


# --- the tuning loop's bookkeeping --------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TuningState:
    """Where an exoself's tuning phase stands.

    ``best`` is the best fitness so far (``None`` before the first evaluation), ``attempt``
    the evaluations since the last improvement, ``evaluations`` all evaluations so far.
    """

    max_attempts: int
    best: Fitness | None = None
    attempt: int = 0
    evaluations: int = 0


@dataclass(frozen=True, slots=True)
class TuningStep:
    """The decision after one evaluation: ``improved`` -> back the weights up (and write the
    fitness to the agent); otherwise restore the perturbed neurons' backed-up weights.
    ``done`` -> stop tuning; otherwise select neurons and perturb again."""

    state: TuningState
    improved: bool
    done: bool


def start_tuning(max_attempts: int) -> TuningState:
    if max_attempts < 1:
        raise TuningError("max_attempts must be >= 1")
    return TuningState(max_attempts)


def observe(
    state: TuningState,
    fitness: float | Sequence[float],
    *,
    goal_reached: bool = False,
    min_improvement: float = 0.0,
) -> TuningStep:
    """Account for one evaluation as DXNN2's exoself does.

    The first evaluation always counts as an improvement (DXNN2 starts from ``fitness - 1``).
    Later ones improve when the fitness vector dominates the best so far, every element by
    more than ``min_improvement`` times the old value (DXNN2's ``?MIN_PIMPROVEMENT``, 0).
    Tuning is done after ``max_attempts`` evaluations in a row without improvement, or when
    the scape signalled that the goal is reached.
    """
    try:
        vec = as_fitness(fitness)
    except SelectionError as exc:
        raise TuningError(str(exc)) from exc
    best = state.best if state.best is not None else tuple(v - 1 for v in vec)
    try:
        improved = dominance(vec, best, min_improvement) == 1
    except SelectionError as exc:
        raise TuningError(str(exc)) from exc
    new = TuningState(
        state.max_attempts,
        vec if improved else best,
        0 if improved else state.attempt + 1,
        state.evaluations + 1,
    )
    return TuningStep(new, improved, new.attempt >= new.max_attempts or goal_reached)
