"""Success tests: what "solved" means for a morphology, beyond its scape's goal flag.

An agent whose evaluation reached the scape's goal (DXNN's ``goal_reached``) is a
*candidate solution*; a morphology registered here must also pass its success test, run on
the champion's weights without tuning. The tests are those of ``docs/benchmarks.md``:

* ``single_pole``, ``single_pole_nv``, ``dpv``: balance 100,000 steps from the standard
  start (the scape's goal is exactly this, so the test re-checks it on a fresh network);
* ``dpnv``: balance 100,000 steps from the standard start **and** keep the poles up for
  1,000 steps from at least 200 of the 625 generalization start states (Gruau et al. 1996).

The tests always run on the compiled evaluator (the backends have one meaning, proven equal
by tests; the generalization test runs 625 copies at once with :class:`BatchNetwork`).
Morphologies without an entry are solved by their scape's goal flag. Register more with
:func:`register_success_test`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from actors.neural.batch import BatchNetwork
from actors.neural.compiled import CompiledNetwork
from actors.neural.spec import NetworkSpec
from morphologies.pole_balancing import (
    GENERALIZATION_THRESHOLD,
    SUCCESS_STEPS,
    TASKS,
    PoleTask,
    balance_steps,
    generalization_test,
)

__all__ = ["SUCCESS_TESTS", "SuccessReport", "register_success_test", "success_test"]


@dataclass(frozen=True, slots=True)
class SuccessReport:
    """The outcome of a success test: ``solved`` and figures worth reporting."""

    solved: bool
    details: dict[str, float] = field(default_factory=dict)


SuccessTest = Callable[[NetworkSpec], SuccessReport]
SUCCESS_TESTS: dict[str, SuccessTest] = {}


def register_success_test(morphology: str, test: SuccessTest) -> None:
    """Register (or replace) the success test of ``morphology``."""
    SUCCESS_TESTS[morphology] = test


def success_test(morphology: str) -> SuccessTest | None:
    return SUCCESS_TESTS.get(morphology)


def _balance(spec: NetworkSpec, task: PoleTask) -> int:
    net = CompiledNetwork(spec)
    return balance_steps(net.step_flat, task, SUCCESS_STEPS)


def _pole_test(task: PoleTask) -> SuccessTest:
    def test(spec: NetworkSpec) -> SuccessReport:
        steps = _balance(spec, task)
        return SuccessReport(steps >= SUCCESS_STEPS, {"balanced_steps": float(steps)})

    return test


def _dpnv_test(spec: NetworkSpec) -> SuccessReport:
    task = TASKS["dpnv"]
    steps = _balance(spec, task)
    details = {"balanced_steps": float(steps)}
    if steps < SUCCESS_STEPS:
        return SuccessReport(False, details)
    batch = BatchNetwork(spec, 625)

    def policy(x: np.ndarray) -> np.ndarray:
        return batch.step(x)

    generalized = generalization_test(policy, task)
    details["generalization"] = float(generalized)
    return SuccessReport(generalized >= GENERALIZATION_THRESHOLD, details)


for _name in ("single_pole", "single_pole_nv", "dpv"):
    register_success_test(_name, _pole_test(TASKS[_name]))
register_success_test("dpnv", _dpnv_test)
