"""The morphology interface: sensor/actuator specs, the scape protocol and DXNN's episode loop.

A *morphology* (DXNN's term) names the sensors and actuators an agent has and makes the *scape*
(environment) they act on. Each sense-think-act cycle (``cortex.erl``):

1. every sensor reads its vector from the scape (``scape.sense(sensor_name)``);
2. the network maps the sensor vectors to actuator vectors;
3. every actuator acts (``scape.act(actuator_name, vector)``) and gets back
   ``(fitness, halt)``; the cycle's fitness is the sum over actuators;
4. the episode ends after the cycle in which any actuator reported ``halt``.

The episode's fitness is the sum over all cycles; ``scape.goal_reached`` says whether the task's
goal was met (DXNN's ``goal_reached`` end flag).

A scape may instead evaluate the network as a whole (:class:`NetworkScape`: a fitness function
such as those :func:`morphologies.function.fitness_morphology` registers): the episode loops then
hand it the network as a :class:`Network` -- ``network(inputs) -> outputs`` (flat vectors in the
morphology's sensor and actuator order) and ``network.reset()`` -- and the episode's fitness is
what :meth:`NetworkScape.evaluate` returns; its cycles are the network's steps
(:class:`StepNetwork` counts them).

Two optional scape attributes: a scape that runs several independent episodes in one
evaluation (the Gymnasium adapter) sets ``new_episode`` true after the act that ended one of
them, and the loop then resets the network's recurrent state before the next cycle
(:func:`episode_restarted`); a scape that holds resources has a ``close()``, which the loops
call on every scape they made, however the episode ended (:func:`close_scape`).

Scapes are pure: they take a :class:`random.Random` (never the global RNG), read no clock, and
start no threads. Bad actuator vectors (wrong length, non-finite values) raise
:class:`MorphologyError`.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

__all__ = [
    "ActuatorSpec",
    "EpisodeResult",
    "Morphology",
    "MorphologyError",
    "Network",
    "NetworkScape",
    "Policy",
    "Scape",
    "SensorSpec",
    "StepNetwork",
    "check_vector",
    "close_scape",
    "episode_restarted",
    "policy_step",
    "run_episode",
]


class MorphologyError(Exception):
    """Base error of :mod:`morphologies`: bad configuration or a bad actuator vector."""


@dataclass(frozen=True, slots=True)
class SensorSpec:
    """A sensor: its name and the length of the vector it reads each cycle."""

    name: str
    vl: int


@dataclass(frozen=True, slots=True)
class ActuatorSpec:
    """An actuator: its name and the length of the vector it expects each cycle."""

    name: str
    vl: int


@runtime_checkable
class Scape(Protocol):
    """An environment instance for one agent (DXNN's private scape)."""

    goal_reached: bool

    def sense(self, sensor: str) -> list[float]:
        """The sensor's current vector."""
        ...

    def act(self, actuator: str, output: Sequence[float]) -> tuple[float, bool]:
        """Apply an actuator vector; return ``(fitness, halt)``."""
        ...


#: A network as the episode loop sees it: sensor name → vector in, actuator name → vector out.
Policy = Callable[[Mapping[str, Sequence[float]]], Mapping[str, Sequence[float]]]


class Network(Protocol):
    """A network as a :class:`NetworkScape` drives it.

    ``network(inputs)`` runs one sense-think-act step: ``inputs`` is the flat input vector (the
    morphology's sensor vectors concatenated in order), the result the flat output vector (its
    actuator vectors, each padded to its ``vl``). Recurrent state carries over from one call to
    the next; ``network.reset()`` zeroes it (an evaluation starts from a reset network).
    """

    def __call__(self, inputs: Sequence[float]) -> list[float]: ...

    def reset(self) -> None: ...


@runtime_checkable
class NetworkScape(Protocol):
    """A scape that evaluates a whole network itself instead of cycle by cycle.

    :meth:`evaluate` runs one evaluation (one episode) of ``network`` and returns its fitness;
    it sets ``goal_reached``. The episode loops (:func:`run_episode`, the exoself's) call it in
    place of ``sense``/``act``.
    """

    goal_reached: bool

    def evaluate(self, network: Network) -> float: ...


class StepNetwork:
    """A :class:`Network` over a flat step function (a compiled network's ``step_flat``...).

    Checks every input vector (length ``inputs``, finite numbers) and fits every output vector
    to ``outputs`` values (:func:`check_vector`); counts the steps (:attr:`calls`), refuses
    more than ``max_calls`` of them (``None``: no bound) with :class:`MorphologyError`, and
    keeps the outputs of the first ``keep`` steps (:attr:`first_outputs`, for behaviour
    vectors). ``name`` names the network in error messages.
    """

    def __init__(
        self,
        step: Callable[[list[float]], Sequence[float]],
        reset: Callable[[], None],
        inputs: int,
        outputs: int,
        *,
        max_calls: int | None = None,
        keep: int = 0,
        name: str = "network",
    ) -> None:
        self._step = step
        self._reset = reset
        self.inputs = inputs
        self.outputs = outputs
        self.max_calls = max_calls
        self.keep = keep
        self.name = name
        self.calls = 0
        self.first_outputs: list[list[float]] = []

    def __call__(self, inputs: Sequence[float]) -> list[float]:
        try:
            x = [float(v) for v in inputs]
        except (TypeError, ValueError) as exc:
            raise MorphologyError(f"{self.name}: inputs must be numbers, got {inputs!r}") from exc
        if len(x) != self.inputs:
            raise MorphologyError(f"{self.name}: expected {self.inputs} inputs, got {len(x)}")
        if not all(math.isfinite(v) for v in x):
            raise MorphologyError(f"{self.name}: inputs must be finite, got {x!r}")
        if self.max_calls is not None and self.calls >= self.max_calls:
            raise MorphologyError(
                f"{self.name}: more than {self.max_calls} steps in one evaluation (max_calls)"
            )
        self.calls += 1
        out = check_vector(self._step(x), self.outputs, self.name)
        if len(self.first_outputs) < self.keep:
            self.first_outputs.append(out)
        return out

    def reset(self) -> None:
        self._reset()


@dataclass(frozen=True)
class Morphology:
    """Sensors, actuators and a scape factory. ``max_cycles`` bounds any episode."""

    name: str
    sensors: tuple[SensorSpec, ...]
    actuators: tuple[ActuatorSpec, ...]
    scape_factory: Callable[[random.Random], Scape]
    max_cycles: int
    description: str = ""

    def new_scape(self, rng: random.Random) -> Scape:
        return self.scape_factory(rng)


@dataclass(frozen=True, slots=True)
class EpisodeResult:
    """Outcome of one episode: total fitness, cycles run, whether the goal was reached."""

    fitness: float
    cycles: int
    goal_reached: bool


def check_vector(output: Sequence[float], vl: int, what: str) -> list[float]:
    """Fit a network's actuator vector to ``vl`` (pad with zeros / truncate, as DXNN's actuators
    do) and reject non-finite values with :class:`MorphologyError`."""
    try:
        vec = [float(v) for v in output]
    except (TypeError, ValueError) as exc:
        raise MorphologyError(f"{what}: actuator vector is not numeric") from exc
    if not all(math.isfinite(v) for v in vec):
        raise MorphologyError(f"{what}: actuator vector has non-finite values")
    if len(vec) < vl:
        vec.extend([0.0] * (vl - len(vec)))
    return vec[:vl]


def episode_restarted(scape: Scape) -> bool:
    """Whether the scape's last act ended one of the independent episodes it runs and started
    the next (its optional ``new_episode`` attribute): reset the network before sensing."""
    return bool(getattr(scape, "new_episode", False))


def close_scape(scape: Scape) -> None:
    """Call the scape's optional ``close()``."""
    close = getattr(scape, "close", None)
    if callable(close):
        close()


def policy_step(morphology: Morphology, policy: Policy) -> Callable[[list[float]], list[float]]:
    """``policy`` as a flat step function: the input vector split into the morphology's sensor
    vectors, the actuator vectors (each fitted to its ``vl``) concatenated in order."""

    def step(x: list[float]) -> list[float]:
        named: dict[str, Sequence[float]] = {}
        pos = 0
        for s in morphology.sensors:
            named[s.name] = x[pos : pos + s.vl]
            pos += s.vl
        outputs = policy(named)
        out: list[float] = []
        for a in morphology.actuators:
            out.extend(check_vector(outputs[a.name], a.vl, a.name))
        return out

    return step


def _no_reset() -> None:
    return None


def run_episode(
    morphology: Morphology,
    policy: Policy,
    rng: random.Random,
    *,
    scape: Scape | None = None,
    max_cycles: int | None = None,
    reset: Callable[[], None] | None = None,
) -> EpisodeResult:
    """Run one episode of ``policy`` on a new scape (or the one given) per DXNN's cycle.

    A :class:`NetworkScape` gets ``policy`` as a :class:`Network` (at most ``max_cycles``
    steps) whose ``reset()`` calls ``reset`` (nothing if ``None``). Otherwise ``reset`` (the
    network's recurrent-state reset) is called when the scape starts a new independent
    episode (:func:`episode_restarted`). A scape made here is closed at the end
    (:func:`close_scape`); one given is left to its owner.
    """
    sc = morphology.new_scape(rng) if scape is None else scape
    try:
        limit = morphology.max_cycles if max_cycles is None else max_cycles
        if isinstance(sc, NetworkScape):
            net = StepNetwork(
                policy_step(morphology, policy),
                reset or _no_reset,
                sum(s.vl for s in morphology.sensors),
                sum(a.vl for a in morphology.actuators),
                max_calls=limit,
                name=morphology.name,
            )
            fitness = sc.evaluate(net)
            return EpisodeResult(fitness, net.calls, sc.goal_reached)
        fitness = 0.0
        for cycle in range(1, limit + 1):
            inputs = {s.name: sc.sense(s.name) for s in morphology.sensors}
            outputs = policy(inputs)
            halt = False
            for a in morphology.actuators:
                f, h = sc.act(a.name, outputs[a.name])
                fitness += f
                halt = halt or h
            if halt:
                return EpisodeResult(fitness, cycle, sc.goal_reached)
            if reset is not None and episode_restarted(sc):
                reset()
        return EpisodeResult(fitness, limit, sc.goal_reached)
    finally:
        if scape is None:
            close_scape(sc)
