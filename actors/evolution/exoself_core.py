"""The exoself's pure core: one agent's tuning phase over flat weights, and the episode loop.

:class:`TuningSession` is DXNN2's ``exoself.erl`` ``loop(S, gt)`` on the flat weight layout
of :func:`actors.genotype.network.spec_from_agent`, driven by the cores of
:mod:`actors.evolution.tuning`:

1. the first evaluation uses the genotype's weights;
2. after each evaluation :func:`~actors.evolution.tuning.observe` decides: an improvement
   backs the weights (and their last changes) up -- under ``lamarckian`` heredity the
   weights the network *learned* during the evaluation, under ``darwinian`` the ones it
   started with; otherwise the weights are restored from the backup;
3. unless done, the agent's tuning selection function picks neurons by age, each with its
   spread ``perturbation_range * pi * annealing ** age``, and
   :func:`~actors.evolution.tuning.perturb_weights` perturbs their input blocks (the bias is
   one more block) with momentum, from the backed-up weights;
4. tuning ends after ``max_attempts`` evaluations in a row without improvement (the agent's
   tuning duration function) or when the goal was reached.

With ``tune=False`` the session evaluates the genotype's weights once (validation).

:func:`run_episode_flat` runs one episode of a phenotype against a morphology's scape
(DXNN's cortex cycle: sense every sensor, step, act with every actuator, sum the fitness,
stop on ``halt``; reset the phenotype when the scape starts a new independent episode; close
the scape at the end), and returns the behaviour vector novelty search uses. A scape that
evaluates whole networks (:class:`~morphologies.base.NetworkScape`, e.g. a fitness function)
is handed the phenotype as a :class:`~morphologies.base.StepNetwork` instead.

Everything here is deterministic given the :class:`random.Random` passed in.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from actors.evolution.candidate import Fitness, as_fitness
from actors.evolution.tuning import (
    TunableNeuron,
    TuningState,
    observe,
    perturb_weights,
    select_for_tuning,
    start_tuning,
    tuning_attempts,
)
from actors.genotype.network import flat_deltas, spec_from_agent, weight_slots
from actors.genotype.records import Agent
from actors.neural.spec import NetworkSpec
from morphologies.base import (
    EpisodeResult,
    Morphology,
    NetworkScape,
    StepNetwork,
    close_scape,
    episode_restarted,
    policy_step,
)

__all__ = [
    "BEHAVIOUR_CYCLES",
    "Episode",
    "TuningSession",
    "phenotype_network",
    "run_episode_flat",
]

#: Behaviour vector: the actuator outputs of the first this-many cycles (zero-padded), then
#: the share of ``max_cycles`` the episode lasted.
BEHAVIOUR_CYCLES = 4


@dataclass(frozen=True, slots=True)
class Episode:
    """One evaluation: the scape's result and the behaviour vector."""

    result: EpisodeResult
    behaviour: tuple[float, ...]


def run_episode_flat(
    morphology: Morphology,
    phenotype: object,
    sensors: Sequence[str],
    actuators: Sequence[tuple[str, int]],
    rng: random.Random,
    *,
    max_cycles: int | None = None,
) -> Episode:
    """Run one episode of ``phenotype`` on a new scape of ``morphology``.

    ``sensors`` are the network's sensor names in input order, ``actuators`` its
    ``(name, output count)`` pairs in output order. A phenotype with ``step_flat`` (the
    compiled backend) is driven through it; any other through ``step``.
    """
    limit = morphology.max_cycles if max_cycles is None else max_cycles
    flat = getattr(phenotype, "step_flat", None)
    step = getattr(phenotype, "step")  # noqa: B009 - a Phenotype, checked by the caller
    width = sum(k for _, k in actuators)
    behaviour: list[float] = []
    fitness = 0.0
    cycles = limit
    goal = False
    scape = morphology.new_scape(rng)
    try:
        if isinstance(scape, NetworkScape):
            return _network_episode(morphology, scape, phenotype, sensors, actuators, limit)
        for cycle in range(1, limit + 1):
            if flat is not None:
                x: list[float] = []
                for name in sensors:
                    x.extend(scape.sense(name))
                out = flat(x)
                pieces = []
                pos = 0
                for name, k in actuators:
                    pieces.append((name, out[pos : pos + k]))
                    pos += k
            else:
                named = step({name: scape.sense(name) for name in sensors})
                pieces = [(name, list(named[name])) for name, _ in actuators]
            if cycle <= BEHAVIOUR_CYCLES:
                for _, vec in pieces:
                    behaviour.extend(float(v) for v in vec)
            halt = False
            for name, vec in pieces:
                f, h = scape.act(name, vec)
                fitness += f
                halt = halt or h
            if halt:
                cycles = cycle
                break
            if episode_restarted(scape):
                phenotype.reset()  # type: ignore[attr-defined]
        goal = bool(scape.goal_reached)
    finally:
        close_scape(scape)
    behaviour.extend([0.0] * (BEHAVIOUR_CYCLES * width - len(behaviour)))
    behaviour.append(cycles / limit)
    return Episode(EpisodeResult(fitness, cycles, goal), tuple(behaviour))


def phenotype_network(
    morphology: Morphology,
    phenotype: object,
    sensors: Sequence[str],
    actuators: Sequence[tuple[str, int]],
    *,
    max_calls: int | None = None,
    keep: int = 0,
) -> StepNetwork:
    """``phenotype`` as a :class:`StepNetwork`: flat inputs and outputs in the morphology's
    sensor and actuator order, ``reset`` resetting the phenotype. ``sensors`` and
    ``actuators`` are the network's, as for :func:`run_episode_flat`; when they are the
    morphology's (one actuator) the phenotype's ``step_flat`` is called directly."""
    flat: Callable[[list[float]], Sequence[float]] | None = getattr(phenotype, "step_flat", None)
    direct = (
        len(morphology.actuators) == 1
        and list(sensors) == [s.name for s in morphology.sensors]
        and [a for a, _ in actuators] == [morphology.actuators[0].name]
    )
    if flat is None or not direct:
        flat = policy_step(morphology, getattr(phenotype, "step"))  # noqa: B009
    return StepNetwork(
        flat,
        getattr(phenotype, "reset"),  # noqa: B009 - a Phenotype, checked by the caller
        sum(s.vl for s in morphology.sensors),
        sum(a.vl for a in morphology.actuators),
        max_calls=max_calls,
        keep=keep,
        name=morphology.name,
    )


def _network_episode(
    morphology: Morphology,
    scape: NetworkScape,
    phenotype: object,
    sensors: Sequence[str],
    actuators: Sequence[tuple[str, int]],
    limit: int,
) -> Episode:
    """One evaluation by a scape that drives the whole network (at most ``limit`` steps).
    The behaviour vector is built as for a scape episode, from the first steps' outputs."""
    net = phenotype_network(
        morphology, phenotype, sensors, actuators, max_calls=limit, keep=BEHAVIOUR_CYCLES
    )
    fitness = scape.evaluate(net)
    behaviour = [v for out in net.first_outputs for v in out]
    behaviour.extend([0.0] * (BEHAVIOUR_CYCLES * net.outputs - len(behaviour)))
    behaviour.append(net.calls / limit)
    return Episode(EpisodeResult(fitness, net.calls, bool(scape.goal_reached)), tuple(behaviour))


class TuningSession:
    """One agent's tuning phase (see the module docstring).

    Use: ``w = s.candidate()``; evaluate a network with weights ``w``; ``s.record(fitness,
    goal_reached, learned)``; repeat while ``not s.done``; then ``s.best_weights``,
    ``s.best_deltas``, ``s.best_fitness``, ``s.evaluations``.
    """

    def __init__(
        self,
        agent: Agent,
        rng: random.Random,
        *,
        tune: bool = True,
        min_improvement: float = 0.0,
        spec: NetworkSpec | None = None,
    ) -> None:
        """``spec`` is the agent's :func:`spec_from_agent`, if the caller has built it
        already (it is built here otherwise)."""
        self.agent = agent
        self.rng = rng
        self.tune = tune
        self.min_improvement = min_improvement
        self._slots = {s.neuron_id: s for s in weight_slots(agent)}
        self._neurons = [
            TunableNeuron(s.neuron_id, s.generation, s.weight_count) for s in self._slots.values()
        ]
        weights = (spec_from_agent(agent) if spec is None else spec).flat_weights()
        self._w = np.array(weights, dtype=np.float64)
        self._d = np.array(flat_deltas(agent), dtype=np.float64)
        self.best_weights: list[float] = list(weights)
        self.best_deltas: list[float] = self._d.tolist()
        self.best_fitness: Fitness | None = None
        self.best_behaviour: tuple[float, ...] = ()
        self.best_goal = False
        name, param = agent.tuning_duration_f
        attempts = tuning_attempts(name, param, self._neurons, agent.generation) if tune else 1
        self._state: TuningState = start_tuning(attempts)
        self.done = False
        self.lamarckian = agent.heredity_type == "lamarckian"

    @property
    def evaluations(self) -> int:
        return self._state.evaluations

    @property
    def max_attempts(self) -> int:
        return self._state.max_attempts

    def candidate(self) -> list[float]:
        """The weights to evaluate next (flat layout)."""
        return self._w.tolist()

    def record(
        self,
        fitness: float | Sequence[float],
        goal_reached: bool,
        *,
        learned: Sequence[float] | None = None,
        behaviour: Sequence[float] = (),
    ) -> bool:
        """Account for the evaluation of :meth:`candidate`; returns :attr:`done`.

        ``learned`` are the network's weights after the evaluation (they differ from the
        candidate only with plasticity); they are kept under lamarckian heredity.
        """
        if self.done:
            raise RuntimeError("the tuning session is over")
        vec = as_fitness(fitness)
        step = observe(
            self._state, vec, goal_reached=goal_reached, min_improvement=self.min_improvement
        )
        self._state = step.state
        if step.improved:
            if self.lamarckian and learned is not None:
                self._w = np.array(learned, dtype=np.float64)
            self.best_weights = self._w.tolist()
            self.best_deltas = self._d.tolist()
            self.best_fitness = vec
            self.best_behaviour = tuple(behaviour)
            self.best_goal = goal_reached
        else:
            self._w = np.array(self.best_weights, dtype=np.float64)
            self._d = np.array(self.best_deltas, dtype=np.float64)
        if step.done or not self.tune:
            self.done = True
            return True
        self._perturb()
        return False

    def _perturb(self) -> None:
        a = self.agent
        choices = select_for_tuning(
            a.tuning_selection_f,
            self._neurons,
            a.generation,
            a.perturbation_range,
            a.annealing_parameter,
            self.rng,
        )
        for neuron_id, spread in choices:
            slots = self._slots[neuron_id]
            blocks = [(self._w[lo:hi], self._d[lo:hi]) for lo, hi in slots.blocks]
            for (lo, hi), (w, d) in zip(
                slots.blocks, perturb_weights(blocks, spread, self.rng), strict=True
            ):
                self._w[lo:hi] = w
                self._d[lo:hi] = d
