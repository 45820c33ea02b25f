"""DXNN's discrete T-maze (``scape.erl`` ``dtm_sim``).

Four sectors: the start ``[0,0]``, the junction ``[0,1]`` and two arms, ``[1,1]`` (right) and
``[-1,1]`` (left). The agent starts at ``[0,0]`` facing 90° (up). Each cycle it senses a range
vector of 3 values (what lies left/ahead/right from the sector's table below) plus the reward of
its sector (sensor ``dtm_GetInput``, vl 4), and outputs one value (``dtm_SendOutput``, vl 1):
``> 0.33`` turns clockwise and moves, ``< -0.33`` turns counter-clockwise and moves, anything else
moves forward. Moving into a wall ends the run with -0.4; any action taken in an arm ends the run
collecting that arm's reward. One arm holds 1 (the right one at first), the other 0.2; after
``switch_event`` runs (35 + uniform 1..30, drawn from the scape's rng) the rewards swap. An
episode is 100 runs; the fitness, reported at the end, is ``50 + Σ rewards - 0.4 · crashes``.

Deviation from ``scape.erl``: after a turn DXNN's scape sends the actuator two replies (a bug
that desynchronises the actuator); here each action gets exactly one.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from morphologies.base import ActuatorSpec, Morphology, SensorSpec, check_vector

__all__ = ["TMazeScape", "tmaze_morphology"]

Pos = tuple[int, int]
# sector -> direction -> (next sector or None for a wall, range sense)
_SECTORS: dict[Pos, dict[int, tuple[Pos | None, tuple[float, float, float]]]] = {
    (0, 0): {0: (None, (1, 0, 0)), 90: ((0, 1), (0, 1, 0)), 180: (None, (0, 0, 1)),
             270: (None, (0, 0, 0))},
    (0, 1): {0: ((1, 1), (0, 1, 1)), 90: (None, (1, 0, 1)), 180: ((-1, 1), (1, 1, 0)),
             270: ((0, 0), (1, 1, 1))},
    (1, 1): {0: (None, (0, 0, 0)), 90: (None, (2, 0, 0)), 180: ((0, 1), (0, 2, 0)),
             270: (None, (0, 0, 2))},
    (-1, 1): {0: ((0, 1), (0, 2, 0)), 90: (None, (0, 0, 2)), 180: (None, (0, 0, 0)),
              270: (None, (2, 0, 0))},
}  # fmt: skip
_ARMS: tuple[Pos, Pos] = ((1, 1), (-1, 1))
TOTAL_RUNS = 100
START_FITNESS = 50.0
CRASH_PENALTY = 0.4


class TMazeScape:
    """One 100-run T-maze episode; the switch point comes from ``rng``."""

    def __init__(self, rng: random.Random) -> None:
        self.switch_event = 35 + rng.randint(1, 30)
        self.rewards: dict[Pos, float] = {(0, 0): 0.0, (0, 1): 0.0, (1, 1): 1.0, (-1, 1): 0.2}
        self.switched = False
        self.position: Pos = (0, 0)
        self.direction = 90
        self.run_index = 0
        self.fitness_acc = START_FITNESS
        self.goal_reached = False

    def sense(self, sensor: str) -> list[float]:
        _, rng_sense = _SECTORS[self.position][self.direction]
        return [float(v) for v in rng_sense] + [self.rewards[self.position]]

    def _end_run(self, gain: float) -> tuple[float, bool]:
        self.fitness_acc += gain
        self.run_index += 1
        self.position, self.direction = (0, 0), 90
        if self.run_index >= TOTAL_RUNS:
            return self.fitness_acc, True
        if self.run_index == self.switch_event and not self.switched:
            a, b = _ARMS
            self.rewards[a], self.rewards[b] = self.rewards[b], self.rewards[a]
            self.switched = True
        return 0.0, False

    def act(self, actuator: str, output: Sequence[float]) -> tuple[float, bool]:
        (move,) = check_vector(output, 1, "dtm_SendOutput")
        if self.position in _ARMS:
            return self._end_run(self.rewards[self.position])
        if move > 0.33:
            self.direction = (self.direction + 270) % 360
        elif move < -0.33:
            self.direction = (self.direction + 90) % 360
        nxt, _ = _SECTORS[self.position][self.direction]
        if nxt is None:
            return self._end_run(-CRASH_PENALTY)
        self.position = nxt
        return 0.0, False


def tmaze_morphology() -> Morphology:
    return Morphology(
        name="discrete_tmaze",
        sensors=(SensorSpec("dtm_GetInput", 4),),
        actuators=(ActuatorSpec("dtm_SendOutput", 1),),
        scape_factory=TMazeScape,
        max_cycles=3 * TOTAL_RUNS,
        description="DXNN discrete T-maze: 100 runs, rewards 1 / 0.2 swapped once",
    )
