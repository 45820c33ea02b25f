"""Fitness-function morphologies: the registration's checks, the goal rules, the network a
function gets (inputs checked, outputs fitted, steps counted and bounded, reset passed on),
and the episode loop's handing over of the network."""

from __future__ import annotations

import math
import random
from collections.abc import Sequence

import numpy as np
import pytest

from morphologies import (
    MorphologyError,
    Network,
    NetworkScape,
    StepNetwork,
    fitness_morphology,
    get_morphology,
    run_episode,
)
from morphologies.function import FunctionScape, fitness_task


def constant(value: object):  # type: ignore[no-untyped-def]
    def evaluate(net: Network) -> object:
        net([0.0, 0.0])
        return value

    return evaluate


def scape_of(name: str, evaluate: object, goal: float | None = None) -> FunctionScape:
    m = fitness_morphology(name, inputs=2, outputs=1, evaluate=evaluate, goal=goal, register=False)
    scape = m.new_scape(random.Random(0))
    assert isinstance(scape, FunctionScape) and isinstance(scape, NetworkScape)
    return scape


def echo_net(
    calls: list[list[float]] | None = None, resets: list[int] | None = None
) -> StepNetwork:
    def step(x: list[float]) -> list[float]:
        if calls is not None:
            calls.append(list(x))
        return [x[0] * 0.5]

    def reset() -> None:
        if resets is not None:
            resets.append(1)

    return StepNetwork(step, reset, 2, 1, max_calls=10, keep=2, name="t")


@pytest.mark.parametrize(
    ("value", "goal", "fitness", "reached"),
    [
        (3.0, None, 3.0, False),  # no goal, no flag: never reached
        (3, 2.5, 3.0, True),  # an int is a number; reaches the goal
        (np.float32(2.0), 2.5, 2.0, False),  # below the goal
        ((3.0, True), None, 3.0, True),  # the flag alone
        ((3.0, np.bool_(False)), None, 3.0, False),
        ((3.0, True), 4.0, 3.0, False),  # flag and goal: both needed
        ((5.0, True), 4.0, 5.0, True),
        ((5.0, False), 4.0, 5.0, False),
    ],
)
def test_goal_rules(value: object, goal: float | None, fitness: float, reached: bool) -> None:
    scape = scape_of("goal_rules", constant(value), goal)
    assert scape.evaluate(echo_net()) == fitness
    assert scape.goal_reached is reached


@pytest.mark.parametrize(
    "value", [math.nan, math.inf, True, "1.0", None, (1.0,), (1.0, 1), (1.0, True, 2), [1.0]]
)
def test_bad_fitness_values_raise_naming_the_morphology(value: object) -> None:
    scape = scape_of("bad_values", constant(value))
    with pytest.raises(MorphologyError, match="bad_values"):
        scape.evaluate(echo_net())


def test_signatures_are_checked_and_rng_is_passed_when_asked() -> None:
    def no_args() -> float:
        return 0.0

    def three(net: Network, rng: random.Random, extra: int) -> float:
        return 0.0

    def needs_keyword(net: Network, *, k: int) -> float:
        return 0.0

    for bad in (no_args, three, needs_keyword, 42):
        with pytest.raises(MorphologyError, match="evaluate"):
            fitness_morphology("sig", inputs=1, outputs=1, evaluate=bad, register=False)

    seen: list[float] = []

    def stochastic(net: Network, rng: random.Random) -> float:
        x = rng.random()
        seen.append(x)
        return net([x])[0]

    m = fitness_morphology("sig", inputs=1, outputs=1, evaluate=stochastic, register=False)
    task = fitness_task(m)
    assert task is not None and task.takes_rng
    net = StepNetwork(lambda x: [x[0]], lambda: None, 1, 1)
    a = m.new_scape(random.Random(7)).evaluate(net)  # type: ignore[attr-defined]
    b = m.new_scape(random.Random(7)).evaluate(net)  # type: ignore[attr-defined]
    assert a == b == seen[0] == random.Random(7).random()
    assert fitness_task(get_morphology("xor")) is None


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"name": ""}, "non-empty name"),
        ({"inputs": 0}, "inputs must be a positive int"),
        ({"outputs": True}, "outputs must be a positive int"),
        ({"max_calls": 0}, "max_calls must be a positive int"),
        ({"goal": math.nan}, "goal must be finite"),
        ({"goal": "high"}, "goal must be a number"),
    ],
)
def test_bad_arguments(kwargs: dict[str, object], message: str) -> None:
    args: dict[str, object] = {"name": "args", "inputs": 2, "outputs": 1, "register": False,
                               "evaluate": constant(1.0)}  # fmt: skip
    args.update(kwargs)
    name = args.pop("name")
    with pytest.raises(MorphologyError, match=message):
        fitness_morphology(name, **args)  # type: ignore[arg-type]


def test_registration_shape_and_replacement() -> None:
    def f(net: Network) -> float:
        """First line of the docstring.

        More."""
        return 1.0

    m = fitness_morphology("fm_registered", inputs=3, outputs=2, evaluate=f, goal=1)
    assert get_morphology("fm_registered") is m
    assert [(s.name, s.vl) for s in m.sensors] == [("inputs", 3)]
    assert [(a.name, a.vl) for a in m.actuators] == [("outputs", 2)]
    assert m.description == "First line of the docstring."
    with pytest.raises(MorphologyError, match="already registered"):
        fitness_morphology("fm_registered", inputs=3, outputs=2, evaluate=f)
    again = fitness_morphology("fm_registered", inputs=1, outputs=1, evaluate=f, replace=True)
    assert get_morphology("fm_registered") is again
    scape = again.new_scape(random.Random(0))
    with pytest.raises(MorphologyError, match="evaluates whole networks"):
        scape.sense("inputs")
    with pytest.raises(MorphologyError, match="evaluates whole networks"):
        scape.act("outputs", [0.0])


def test_step_network_checks_counts_bounds_and_keeps() -> None:
    calls: list[list[float]] = []
    resets: list[int] = []
    net = echo_net(calls, resets)
    assert net([1, 2]) == [0.5]  # ints become floats
    assert net(np.array([4.0, 0.0])) == [2.0]
    assert net.first_outputs == [[0.5], [2.0]]
    net([0.0, 0.0])
    assert len(net.first_outputs) == 2 and net.calls == 3  # keeps only the first `keep`
    net.reset()
    assert resets == [1]
    for bad, message in (([1.0], "expected 2 inputs"), ([1.0, math.nan], "finite"),
                         (["a", 1.0], "numbers"), (None, "numbers")):  # fmt: skip
        with pytest.raises(MorphologyError, match=message):
            net(bad)  # type: ignore[arg-type]
    assert net.calls == 3  # refused calls are not steps
    for _ in range(7):
        net([0.0, 0.0])
    with pytest.raises(MorphologyError, match="more than 10 steps"):
        net([0.0, 0.0])
    wide = StepNetwork(lambda x: [9.0, 1.0, 2.0], lambda: None, 1, 2)  # fitted to 2 outputs
    assert wide([0.0]) == [9.0, 1.0]
    short = StepNetwork(lambda x: [], lambda: None, 1, 2)
    assert short([0.0]) == [0.0, 0.0]
    with pytest.raises(MorphologyError, match="non-finite"):
        StepNetwork(lambda x: [math.inf], lambda: None, 1, 1)([0.0])


def test_run_episode_hands_the_policy_over_as_a_network() -> None:
    seen: list[Sequence[float]] = []

    def evaluate(net: Network) -> tuple[float, bool]:
        total = 0.0
        for x in ([1.0, 2.0], [3.0, 4.0], [5.0, 6.0]):
            net.reset()
            out = net(x)
            seen.append(out)
            total += out[0]
        return total, True

    m = fitness_morphology("fm_episode", inputs=2, outputs=1, evaluate=evaluate, register=False)
    resets: list[int] = []

    def policy(inputs):  # type: ignore[no-untyped-def]
        (vec,) = inputs.values()
        return {"outputs": [vec[0] + vec[1]]}

    result = run_episode(m, policy, random.Random(0), reset=lambda: resets.append(1))
    assert seen == [[3.0], [7.0], [11.0]]
    assert (result.fitness, result.cycles, result.goal_reached) == (21.0, 3, True)
    assert resets == [1, 1, 1]
    with pytest.raises(MorphologyError, match="more than 2 steps"):
        run_episode(m, policy, random.Random(0), max_cycles=2)
