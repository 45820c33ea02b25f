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
    "Policy",
    "Scape",
    "SensorSpec",
    "check_vector",
    "close_scape",
    "episode_restarted",
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

    ``reset`` (the network's recurrent-state reset) is called when the scape starts a new
    independent episode (:func:`episode_restarted`). A scape made here is closed at the end
    (:func:`close_scape`); one given is left to its owner."""
    sc = morphology.new_scape(rng) if scape is None else scape
    try:
        limit = morphology.max_cycles if max_cycles is None else max_cycles
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
