"""Pole balancing: single pole and double pole, with and without velocities (NEAT/ESP setup).

Tasks (``TASKS``; the definitions of ``docs/benchmarks.md``):

=================  =====  ==========  ==============================  ==========  =========
task               poles  velocities  inputs (scaled)                 fitness     max steps
=================  =====  ==========  ==============================  ==========  =========
single_pole        1      yes         x, x', th1, th1'                steps       100,000
single_pole_nv     1      no          x, th1                          steps       100,000
dpv                2      yes         x, x', th1, th1', th2, th2'     steps       100,000
dpnv               2      no          x, th1, th2                     damping     1,000
=================  =====  ==========  ==============================  ==========  =========

* Physics: :mod:`morphologies.cartpole` (Wieland's equations, RK4, 0.01 s, two RK4 steps per
  decision, no cart friction by default).
* Force = actuator output clipped to [-1, 1] times 10 N.
* Inputs scaled as in NEAT's C code: x/4.8, x'/2, th/0.52, th'/2.
* Start: long pole at 0.07 rad (NEAT's C code; 1° = 0.01745 rad is the other common choice, set
  ``start_angle``), everything else 0.
* Failure: |x| > 2.4 m or any pole beyond ±36° (0.6283 rad).
* ``steps`` fitness: 1 per decision after which nothing has failed (total = steps balanced);
  the goal is reached at ``max_steps``.
* ``damping`` fitness (Gruau et al. 1996), reported when the episode ends:
  ``F = 0.1 t/1000 + 0.9 f2``, ``f2 = 0`` if ``t < 100`` else
  ``0.75 / Σ over the last 100 steps of (|x| + |x'| + |th1| + |th1'|)`` (unscaled state).
* DPNV counts as solved when the network balances :data:`SUCCESS_STEPS` (100,000) steps from the
  standard start (:func:`balance_steps`) **and** keeps the poles up for 1,000 steps from at least
  :data:`GENERALIZATION_THRESHOLD` (200) of the 625 start states of :func:`generalization_starts`
  (:func:`generalization_test`).

The batch path (:func:`run_batch`) steps N episodes at once with numpy; a policy for it maps an
``(N, inputs)`` array to ``(N, outputs)``.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from morphologies.base import ActuatorSpec, Morphology, MorphologyError, SensorSpec, check_vector
from morphologies.cartpole import CartPolePhysics, rk4_step, rk4_step_batch

__all__ = [
    "GENERALIZATION_THRESHOLD",
    "SUCCESS_STEPS",
    "TASKS",
    "BatchEpisodes",
    "PoleBalancingScape",
    "PoleTask",
    "balance_steps",
    "dpnv_solved",
    "generalization_starts",
    "generalization_test",
    "pole_morphology",
    "run_batch",
]

Array = npt.NDArray[np.float64]
SUCCESS_STEPS = 100_000
GENERALIZATION_THRESHOLD = 200
#: Gruau et al.'s generalization ranges: x ±2.16 m, x' ±1.35 m/s, th1 ±3.6°, th1' ±8.6°/s.
GENERALIZATION_RANGES = (2.16, 1.35, math.radians(3.6), math.radians(8.6))
GENERALIZATION_FRACTIONS = (0.05, 0.25, 0.5, 0.75, 0.95)
_SCALE = (4.8, 2.0, 0.52, 2.0, 0.52, 2.0)


@dataclass(frozen=True)
class PoleTask:
    """One pole-balancing task (see the module docstring for the defaults' sources)."""

    name: str
    physics: CartPolePhysics = field(default_factory=CartPolePhysics)
    velocities: bool = True
    fitness: str = "steps"  # "steps" | "damping"
    max_steps: int = SUCCESS_STEPS
    start_angle: float = 0.07
    force_mag: float = 10.0
    substeps: int = 2
    track_limit: float = 2.4
    angle_limit: float = math.radians(36.0)

    def __post_init__(self) -> None:
        if self.fitness not in ("steps", "damping"):
            raise MorphologyError(f"unknown pole-balancing fitness {self.fitness!r}")
        if self.max_steps < 1 or self.substeps < 1:
            raise MorphologyError("max_steps and substeps must be positive")

    @property
    def observed(self) -> tuple[int, ...]:
        """Indices of the state vector the network sees."""
        dim = self.physics.dim
        return tuple(range(dim)) if self.velocities else tuple(range(0, dim, 2))

    @property
    def n_inputs(self) -> int:
        return len(self.observed)

    def initial_state(self) -> list[float]:
        s = [0.0] * self.physics.dim
        s[2] = self.start_angle
        return s

    def observe(self, s: Sequence[float]) -> list[float]:
        return [s[i] / _SCALE[i] for i in self.observed]

    def failed(self, s: Sequence[float]) -> bool:
        if abs(s[0]) > self.track_limit:
            return True
        return any(abs(s[2 + 2 * i]) > self.angle_limit for i in range(self.physics.poles))

    def advance(self, s: Sequence[float], output: float) -> list[float]:
        force = max(-1.0, min(1.0, output)) * self.force_mag
        for _ in range(self.substeps):
            s = rk4_step(self.physics, s, force)
        return list(s)


def _single() -> CartPolePhysics:
    return CartPolePhysics(poles=1)


TASKS: dict[str, PoleTask] = {
    "single_pole": PoleTask("single_pole", _single()),
    "single_pole_nv": PoleTask("single_pole_nv", _single(), velocities=False),
    "dpv": PoleTask("dpv"),
    "dpnv": PoleTask("dpnv", velocities=False, fitness="damping", max_steps=1000),
}


def damping_fitness(t: int, jiggle_sum: float) -> float:
    """Gruau's damping fitness after ``t`` balanced steps."""
    f2 = 0.0 if t < 100 else 0.75 / jiggle_sum
    return 0.1 * t / 1000.0 + 0.9 * f2


class PoleBalancingScape:
    """One episode of a :class:`PoleTask`. ``start`` overrides the standard start state; the rng
    is accepted for the scape protocol (the task itself is deterministic)."""

    def __init__(
        self, task: PoleTask, rng: random.Random | None = None, start: Sequence[float] | None = None
    ) -> None:
        self.task = task
        self.state = list(task.initial_state() if start is None else start)
        if len(self.state) != task.physics.dim:
            raise MorphologyError(f"start state must have {task.physics.dim} values")
        self.t = 0
        self._jiggle: list[float] = []
        self.done = False
        self.goal_reached = False

    def sense(self, sensor: str) -> list[float]:
        return self.task.observe(self.state)

    def act(self, actuator: str, output: Sequence[float]) -> tuple[float, bool]:
        if self.done:
            raise MorphologyError("the episode has ended")
        (out,) = check_vector(output, 1, actuator)
        task = self.task
        self.state = task.advance(self.state, out)
        failed = task.failed(self.state)
        if not failed:
            self.t += 1
            s = self.state
            self._jiggle.append(abs(s[0]) + abs(s[1]) + abs(s[2]) + abs(s[3]))
            if len(self._jiggle) > 100:
                del self._jiggle[0]
        self.goal_reached = self.t >= task.max_steps
        self.done = failed or self.goal_reached
        if task.fitness == "steps":
            return (0.0 if failed else 1.0), self.done
        if not self.done:
            return 0.0, False
        return damping_fitness(self.t, sum(self._jiggle)), True


def pole_morphology(task: PoleTask) -> Morphology:
    return Morphology(
        name=task.name,
        sensors=(SensorSpec("cart_pole_state", task.n_inputs),),
        actuators=(ActuatorSpec("cart_force", 1),),
        scape_factory=lambda rng: PoleBalancingScape(task, rng),
        max_cycles=task.max_steps,
        description=f"pole balancing ({task.name}), fitness {task.fitness}",
    )


def balance_steps(
    policy: Callable[[list[float]], Sequence[float]],
    task: PoleTask,
    max_steps: int = SUCCESS_STEPS,
    start: Sequence[float] | None = None,
) -> int:
    """Steps the policy (flat inputs → flat outputs, first output = force) keeps everything up,
    from the standard start (or ``start``), up to ``max_steps``. Reset the network first."""
    s = list(task.initial_state() if start is None else start)
    for t in range(max_steps):
        out = policy(task.observe(s))
        s = task.advance(s, float(out[0]))
        if task.failed(s):
            return t
    return max_steps


@dataclass(frozen=True)
class BatchEpisodes:
    """Per-episode results of :func:`run_batch`."""

    steps: Array  # balanced steps per episode
    fitness: Array  # per the task's fitness


def run_batch(
    policy: Callable[[Array], Array],
    task: PoleTask,
    starts: Array | None = None,
    n: int = 1,
    max_steps: int | None = None,
) -> BatchEpisodes:
    """Run N episodes at once (``starts`` ``(N, dim)``, or ``n`` standard starts). ``policy``
    gets ``(N, inputs)`` every step, finished episodes included (their outputs are ignored)."""
    limit = task.max_steps if max_steps is None else max_steps
    s = np.array([task.initial_state()] * n if starts is None else starts, dtype=np.float64)
    if s.ndim != 2 or s.shape[1] != task.physics.dim:
        raise MorphologyError(f"start states must be (N, {task.physics.dim})")
    rows = s.shape[0]
    scale = np.array([_SCALE[i] for i in task.observed])
    obs_idx = list(task.observed)
    alive = np.ones(rows, dtype=bool)
    t = np.zeros(rows, dtype=np.int64)
    jig = np.zeros((100, rows))
    pole_idx = [2 + 2 * i for i in range(task.physics.poles)]
    for step in range(limit):
        out = np.asarray(policy(s[:, obs_idx] / scale), dtype=np.float64)[:, 0]
        force = np.clip(out, -1.0, 1.0) * task.force_mag
        new = s
        for _ in range(task.substeps):
            new = rk4_step_batch(task.physics, new, force)
        s = np.where(alive[:, None], new, s)
        failed = (np.abs(s[:, 0]) > task.track_limit) | np.any(
            np.abs(s[:, pole_idx]) > task.angle_limit, axis=1
        )
        alive = alive & ~failed
        t += alive
        jig[step % 100] = np.where(
            alive, np.abs(s[:, 0]) + np.abs(s[:, 1]) + np.abs(s[:, 2]) + np.abs(s[:, 3]),
            jig[step % 100],
        )  # fmt: skip
        if not alive.any():
            break
    if task.fitness == "steps":
        fit = t.astype(np.float64)
    else:
        total = jig.sum(axis=0)
        f2 = np.where(t < 100, 0.0, 0.75 / np.where(total == 0, 1.0, total))
        fit = 0.1 * t / 1000.0 + 0.9 * f2
    return BatchEpisodes(t.astype(np.float64), fit)


def generalization_starts(task: PoleTask | None = None) -> Array:
    """The 625 start states: x, x', th1, th1' each at 0.05, 0.25, 0.5, 0.75, 0.95 of their
    ranges (Gruau et al. 1996), the short pole upright and still."""
    dim = (task or TASKS["dpnv"]).physics.dim
    vals = [[-r + 2 * r * f for f in GENERALIZATION_FRACTIONS] for r in GENERALIZATION_RANGES]
    out = np.zeros((625, dim))
    k = 0
    for x in vals[0]:
        for xd in vals[1]:
            for th in vals[2]:
                for thd in vals[3]:
                    out[k, :4] = (x, xd, th, thd)
                    k += 1
    return out


def generalization_test(
    policy: Callable[[Array], Array], task: PoleTask | None = None, steps: int = 1000
) -> int:
    """How many of the 625 start states the batch policy (625 fresh networks) keeps up for
    ``steps`` steps. Solved DPNV needs at least :data:`GENERALIZATION_THRESHOLD`."""
    tk = task or TASKS["dpnv"]
    res = run_batch(policy, tk, generalization_starts(tk), max_steps=steps)
    return int(np.count_nonzero(res.steps >= steps))


def dpnv_solved(
    policy: Callable[[list[float]], Sequence[float]],
    reset: Callable[[], None],
    batch_policy: Callable[[Array], Array],
) -> tuple[bool, int, int]:
    """The DPNV success test: ``(solved, steps balanced, generalization successes)``.

    ``policy``/``reset`` drive one network (reset before the 100,000-step run); ``batch_policy``
    drives 625 fresh copies of it. The generalization test only runs when the balance test passes.
    """
    task = TASKS["dpnv"]
    reset()
    steps = balance_steps(policy, task, SUCCESS_STEPS)
    if steps < SUCCESS_STEPS:
        return False, steps, 0
    wins = generalization_test(batch_policy, task)
    return wins >= GENERALIZATION_THRESHOLD, steps, wins
