"""xor_mimic and the discrete T-maze."""

from __future__ import annotations

import random

import pytest

from morphologies import get_morphology, run_episode
from morphologies.base import MorphologyError
from morphologies.tmaze import TMazeScape
from morphologies.xor import XOR_CASES, XorScape, xor_fitness, xor_solved


def test_xor_episode_fitness_and_goal() -> None:
    morph = get_morphology("xor")

    def perfect(inputs):  # type: ignore[no-untyped-def]
        a, b = inputs["xor_GetInput"]
        return {"xor_SendOutput": [0.9 if a != b else -0.9]}

    res = run_episode(morph, perfect, random.Random(0))
    assert res.cycles == 4 and res.goal_reached
    assert res.fitness == pytest.approx(1 / (4 * 0.01 + 1e-6))

    res = run_episode(morph, lambda i: {"xor_SendOutput": [0.0]}, random.Random(0))
    assert not res.goal_reached and res.fitness == pytest.approx(1 / (4 + 1e-6))


def test_xor_helpers_and_bad_vectors() -> None:
    assert xor_fitness([t for _, t in XOR_CASES]) == pytest.approx(1e6)
    assert xor_solved([-0.1, 0.1, 0.2, -0.3]) and not xor_solved([0.1, 0.1, 0.2, -0.3])
    scape = XorScape()
    with pytest.raises(MorphologyError):
        scape.act("xor_SendOutput", [float("nan")])


def run_tmaze(seed: int, policy) -> tuple[float, TMazeScape]:  # type: ignore[no-untyped-def]
    morph = get_morphology("discrete_tmaze")
    scape = TMazeScape(random.Random(seed))
    res = run_episode(morph, policy, random.Random(seed), scape=scape)
    return res.fitness, scape


def test_tmaze_always_right_then_switch() -> None:
    # forward, turn clockwise (right), then any action collects the arm's reward
    def always_right(inputs):  # type: ignore[no-untyped-def]
        return {"dtm_SendOutput": [0.0 if inputs["dtm_GetInput"][:3] == [0, 1, 0] else 1.0]}

    fitness, scape = run_tmaze(5, always_right)
    k = scape.switch_event
    assert 36 <= k <= 65 and scape.switched
    assert fitness == pytest.approx(50 + k * 1.0 + (100 - k) * 0.2)


def test_tmaze_memory_policy_scores_near_the_maximum() -> None:
    """Go to the side that paid 1 last time; switch sides after a 0.2 (needs memory)."""
    state = {"side": 1.0}

    def policy(inputs):  # type: ignore[no-untyped-def]
        sense = inputs["dtm_GetInput"]
        if sense[3] == 0.2:
            state["side"] = -state["side"]
        if sense[:3] == [0, 1, 0]:
            return {"dtm_SendOutput": [0.0]}
        return {"dtm_SendOutput": [state["side"]]}

    fitness, _ = run_tmaze(9, policy)
    assert fitness == pytest.approx(50 + 99 * 1.0 + 0.2)  # one run lost at the switch


def test_tmaze_wall_crash_and_determinism() -> None:
    fitness, _ = run_tmaze(1, lambda i: {"dtm_SendOutput": [-1.0]})  # turn left at the start
    assert fitness == pytest.approx(50 - 100 * 0.4)
    assert TMazeScape(random.Random(3)).switch_event == TMazeScape(random.Random(3)).switch_event
    assert TMazeScape(random.Random(3)).sense("dtm_GetInput") == [0.0, 1.0, 0.0, 0.0]


def test_xor_batch_fitness_matches_scalar() -> None:
    import numpy as np

    from morphologies.xor import XOR_INPUTS, xor_fitness_batch

    assert XOR_INPUTS.shape == (4, 2)
    outs = np.random.default_rng(0).uniform(-1, 1, (6, 4))
    outs[0] = [-0.5, 0.5, 0.5, -0.5]
    fit, solved = xor_fitness_batch(outs)
    for r in range(6):
        assert fit[r] == pytest.approx(xor_fitness(outs[r].tolist()))
        assert solved[r] == xor_solved(outs[r].tolist())
    assert solved[0]
