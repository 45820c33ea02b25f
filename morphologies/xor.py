"""DXNN's ``xor_mimic``: the four XOR cases in {-1, 1}, fitness 1 / (SSE + 1e-6).

``scape.erl`` ``xor_sim``: the sensor ``xor_GetInput`` (vl 2) reads the current case; the
actuator ``xor_SendOutput`` (vl 1) reports 0 fitness after cases 1-3 and, after the fourth,
``1 / (SSE + 0.000001)`` and halt. A network that evaluates the cases in one batch (allowed when it
is stateless) can use :func:`xor_fitness` directly. :func:`xor_solved` is the NEAT criterion
(every output on the correct side of the midpoint 0).
"""

from __future__ import annotations

import random
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from morphologies.base import ActuatorSpec, Morphology, SensorSpec, check_vector

__all__ = [
    "XOR_CASES",
    "XOR_INPUTS",
    "XorScape",
    "xor_fitness",
    "xor_fitness_batch",
    "xor_morphology",
    "xor_solved",
]

XOR_CASES: tuple[tuple[tuple[float, float], float], ...] = (
    ((-1.0, -1.0), -1.0),
    ((1.0, -1.0), 1.0),
    ((-1.0, 1.0), 1.0),
    ((1.0, 1.0), -1.0),
)


#: The four cases' inputs as a (4, 2) array, for evaluating a stateless network in one batch.
XOR_INPUTS = np.array([case for case, _ in XOR_CASES])
_TARGETS = np.array([t for _, t in XOR_CASES])


def xor_fitness_batch(
    outputs: npt.ArrayLike,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.bool_]]:
    """Fitness and NEAT-solved flag for ``(P, 4)`` outputs (P networks, cases in order)."""
    out = np.asarray(outputs, dtype=np.float64).reshape(-1, 4)
    sse = ((_TARGETS - out) ** 2).sum(axis=1)
    return 1.0 / (sse + 0.000001), np.all((out > 0) == (_TARGETS > 0), axis=1)


def xor_fitness(outputs: Sequence[float]) -> float:
    """DXNN's fitness of the four outputs (in case order)."""
    sse = 0.0
    for (_, target), out in zip(XOR_CASES, outputs, strict=True):
        sse += (target - out) ** 2
    return 1.0 / (sse + 0.000001)


def xor_solved(outputs: Sequence[float]) -> bool:
    """NEAT's criterion: every output on the correct side of the midpoint (0 for {-1, 1})."""
    return all(
        (out > 0) == (target > 0) for (_, target), out in zip(XOR_CASES, outputs, strict=True)
    )


class XorScape:
    """One pass over the four cases per episode. The rng is unused (the task is fixed)."""

    def __init__(self, rng: random.Random | None = None) -> None:
        self._case = 0
        self._outputs: list[float] = []
        self.goal_reached = False

    def sense(self, sensor: str) -> list[float]:
        return list(XOR_CASES[self._case][0])

    def act(self, actuator: str, output: Sequence[float]) -> tuple[float, bool]:
        (out,) = check_vector(output, 1, "xor_SendOutput")
        self._outputs.append(out)
        self._case += 1
        if self._case < len(XOR_CASES):
            return 0.0, False
        outputs, self._outputs, self._case = self._outputs, [], 0
        self.goal_reached = xor_solved(outputs)
        return xor_fitness(outputs), True


def xor_morphology() -> Morphology:
    return Morphology(
        name="xor",
        sensors=(SensorSpec("xor_GetInput", 2),),
        actuators=(ActuatorSpec("xor_SendOutput", 1),),
        scape_factory=XorScape,
        max_cycles=4,
        description="DXNN xor_mimic: inputs/targets in {-1, 1}, fitness 1/(SSE+1e-6)",
    )
