"""Pole-balancing tasks: inputs, failure, fitness definitions, success and generalization tests."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest

from morphologies import get_morphology, run_episode
from morphologies.base import MorphologyError
from morphologies.pole_balancing import (
    TASKS,
    PoleBalancingScape,
    PoleTask,
    balance_steps,
    damping_fitness,
    generalization_starts,
    generalization_test,
    run_batch,
)


def pd_single(o: list[float]) -> list[float]:
    """A hand-tuned PD controller for the single pole with velocities."""
    return [math.tanh(1.0 * o[2] + 0.5 * o[3] + 0.1 * o[0] + 0.1 * o[1])]


def test_inputs_are_scaled_as_neat() -> None:
    s = [2.4, 1.0, 0.26, -1.0, 0.13, 0.5]
    assert TASKS["dpv"].observe(s) == pytest.approx([0.5, 0.5, 0.5, -0.5, 0.25, 0.25])
    assert TASKS["dpnv"].observe(s) == pytest.approx([0.5, 0.5, 0.25])
    assert TASKS["single_pole_nv"].observe(s[:4]) == pytest.approx([0.5, 0.5])
    assert TASKS["dpnv"].initial_state() == [0.0, 0.0, 0.07, 0.0, 0.0, 0.0]


def test_uncontrolled_pole_falls_the_right_way() -> None:
    task = TASKS["single_pole"]
    n = balance_steps(lambda o: [0.0], task, max_steps=1000)
    assert 10 < n < 200  # a pole tilted 0.07 rad falls past 36 degrees in well under 4 s
    s = task.initial_state()
    for _ in range(5):
        s = task.advance(s, 0.0)
    assert s[2] > 0.07 and s[0] < 0  # it falls further over, pushing the cart back


def test_controller_balances_the_single_pole_for_the_success_test() -> None:
    assert balance_steps(pd_single, TASKS["single_pole"]) == 100_000


def test_scape_episode_matches_the_fast_paths() -> None:
    task = PoleTask("short", TASKS["single_pole"].physics, max_steps=300)
    morph = get_morphology("single_pole")
    assert morph.sensors[0].vl == 4 and morph.actuators[0].vl == 1

    def policy(inputs):  # type: ignore[no-untyped-def]
        return {"cart_force": [-0.3 + 0.2 * inputs["cart_pole_state"][2]]}

    scape = PoleBalancingScape(task, random.Random(0))
    res = run_episode(morph, policy, random.Random(0), scape=scape)
    flat = balance_steps(lambda o: [-0.3 + 0.2 * o[2]], task, max_steps=300)
    batch = run_batch(lambda x: -0.3 + 0.2 * x[:, 2:3], task, n=2)
    assert res.fitness == res.cycles - 1 == flat == batch.steps[0] == batch.steps[1]
    assert not res.goal_reached
    with pytest.raises(MorphologyError):
        scape.act("cart_force", [0.0])  # the episode is over


def test_goal_reached_at_max_steps() -> None:
    task = PoleTask("short", TASKS["single_pole"].physics, max_steps=50)
    scape = PoleBalancingScape(task)
    morph = get_morphology("single_pole")
    res = run_episode(
        morph, lambda i: {"cart_force": pd_single(i["cart_pole_state"])}, random.Random(1),
        scape=scape,
    )  # fmt: skip
    assert res.goal_reached and res.fitness == 50 and res.cycles == 50


def test_damping_fitness_definition() -> None:
    assert damping_fitness(50, 123.0) == pytest.approx(0.1 * 50 / 1000)
    assert damping_fitness(1000, 7.5) == pytest.approx(0.1 + 0.9 * 0.1)


def test_dpnv_scape_reports_damping_fitness_at_the_end() -> None:
    task = TASKS["dpnv"]
    scape = PoleBalancingScape(task)
    jig: list[float] = []
    fits = []
    for _ in range(task.max_steps):
        f, halt = scape.act("cart_force", [0.0])
        fits.append(f)
        if halt:
            break
        s = scape.state
        jig.append(abs(s[0]) + abs(s[1]) + abs(s[2]) + abs(s[3]))
    assert all(f == 0.0 for f in fits[:-1])
    assert fits[-1] == pytest.approx(damping_fitness(scape.t, sum(jig[-100:])))
    batch = run_batch(lambda x: np.zeros((x.shape[0], 1)), task, n=1)
    assert batch.steps[0] == scape.t
    assert batch.fitness[0] == pytest.approx(fits[-1])


def test_generalization_starts() -> None:
    starts = generalization_starts()
    assert starts.shape == (625, 6)
    assert np.allclose(np.unique(starts[:, 0]), [-1.944, -1.08, 0.0, 1.08, 1.944])
    assert np.allclose(starts[:, 4:], 0.0)
    assert len({tuple(r) for r in starts.tolist()}) == 625


def test_generalization_test_counts_balanced_starts() -> None:
    # with no force only the 5 equilibrium starts (poles upright and still, cart at rest) stay up
    assert generalization_test(lambda x: np.zeros((x.shape[0], 1))) == 5
    # a 2-pole "controller" cannot fake success: counting needs every pole inside the limits
    task = PoleTask("lenient", TASKS["dpnv"].physics, velocities=False, angle_limit=100.0,
                    track_limit=1e9, fitness="damping", max_steps=1000)  # fmt: skip
    assert generalization_test(lambda x: np.zeros((x.shape[0], 1)), task, steps=30) == 625


def test_dpnv_solved_needs_the_balance_test_first() -> None:
    from morphologies.pole_balancing import dpnv_solved

    resets = []
    solved, steps, wins = dpnv_solved(
        lambda o: [0.0], lambda: resets.append(1), lambda x: np.zeros((x.shape[0], 1))
    )
    assert (solved, wins) == (False, 0) and steps < 100 and resets == [1]
