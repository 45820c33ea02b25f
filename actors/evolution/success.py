"""Success tests: what "solved" means for a morphology, beyond its scape's goal flag.

An agent whose evaluation reached the scape's goal (DXNN's ``goal_reached``) is a
*candidate solution*; a morphology registered here must also pass its success test, run on
the champion's weights without tuning. The tests are those of ``docs/benchmarks.md``:

* ``single_pole``, ``single_pole_nv``, ``dpv``: balance 100,000 steps from the standard
  start (the scape's goal is exactly this, so the test re-checks it on a fresh network);
* ``dpnv``: balance 100,000 steps from the standard start **and** keep the poles up for
  1,000 steps from at least 200 of the 625 generalization start states (Gruau et al. 1996);
* every Gymnasium morphology ``gym:<EnvId>[,episodes=K]`` (one built by
  :func:`~morphologies.gym_adapter.gym_morphology` under another name gets it with
  ``register_success_test(name, gym_success_test(name))``): the mean return of 100 episodes on the
  seeds 0-99 (:data:`~morphologies.gym_adapter.SUCCESS_SEEDS`, never a training seed), run in
  ``gymnasium.make(env_id)`` with the network reset before each episode, reaches the
  environment's threshold. An environment without a threshold has no test.

The tests always run on the compiled evaluator (the backends have one meaning, proven equal
by tests; the generalization test runs 625 copies at once with :class:`BatchNetwork`).
Morphologies without an entry are solved by their scape's goal flag. Register more with
:func:`register_success_test`, or for a family of names (a prefix such as ``gym:``) with
:func:`register_success_family`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from actors.evolution.errors import EvolutionUsageError
from actors.neural.batch import BatchNetwork
from actors.neural.compiled import CompiledNetwork
from actors.neural.spec import NetworkSpec
from morphologies import get_morphology
from morphologies.base import MorphologyError
from morphologies.gym_adapter import SUCCESS_SEEDS, gym_settings, run_gym_episodes
from morphologies.pole_balancing import (
    GENERALIZATION_THRESHOLD,
    SUCCESS_STEPS,
    TASKS,
    PoleTask,
    balance_steps,
    generalization_test,
)

__all__ = [
    "SUCCESS_FAMILIES",
    "SUCCESS_TESTS",
    "SuccessReport",
    "gym_success_test",
    "register_success_family",
    "register_success_test",
    "success_test",
]


@dataclass(frozen=True, slots=True)
class SuccessReport:
    """The outcome of a success test: ``solved`` and figures worth reporting."""

    solved: bool
    details: dict[str, float] = field(default_factory=dict)


SuccessTest = Callable[[NetworkSpec], SuccessReport]
#: A family's test maker: the morphology name in, its test (or ``None``: no test) out.
SuccessFamily = Callable[[str], SuccessTest | None]
SUCCESS_TESTS: dict[str, SuccessTest] = {}
SUCCESS_FAMILIES: dict[str, SuccessFamily] = {}


def register_success_test(morphology: str, test: SuccessTest) -> None:
    """Register (or replace) the success test of ``morphology``."""
    SUCCESS_TESTS[morphology] = test


def register_success_family(prefix: str, family: SuccessFamily) -> None:
    """Register (or replace) the test maker of every morphology whose name starts with
    ``prefix`` (and has no test of its own)."""
    if not isinstance(prefix, str) or not prefix:
        raise EvolutionUsageError("a success family needs a non-empty prefix")
    SUCCESS_FAMILIES[prefix] = family


def success_test(morphology: str) -> SuccessTest | None:
    """The success test of ``morphology``: its own, else its family's (longest prefix)."""
    test = SUCCESS_TESTS.get(morphology)
    if test is not None:
        return test
    for prefix in sorted(SUCCESS_FAMILIES, key=len, reverse=True):
        if morphology.startswith(prefix):
            return SUCCESS_FAMILIES[prefix](morphology)
    return None


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


def gym_success_test(name: str) -> SuccessTest | None:
    """The success test of the Gymnasium morphology ``name`` (``None`` if it is not one, or
    its environment has no reward threshold); see the module docstring."""
    try:
        morphology = get_morphology(name)
        settings = gym_settings(morphology)
    except MorphologyError:
        return None
    threshold = settings.threshold
    if threshold is None:
        return None

    def test(spec: NetworkSpec) -> SuccessReport:
        net = CompiledNetwork(spec)
        episodes = run_gym_episodes(morphology, net.step, SUCCESS_SEEDS, reset=net.reset)
        mean = episodes.mean
        details = {
            "mean_return": mean,
            "episodes": float(len(episodes.returns)),
            "threshold": threshold,
        }
        return SuccessReport(mean >= threshold, details)

    return test


register_success_family("gym:", gym_success_test)
