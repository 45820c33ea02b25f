"""The morphology registry and the Gymnasium adapter."""

from __future__ import annotations

import importlib.util
import random

import pytest

from morphologies import (
    ActuatorSpec,
    Morphology,
    SensorSpec,
    get_morphology,
    morphology_names,
    register_morphology,
    run_episode,
)
from morphologies.base import MorphologyError
from morphologies.xor import XorScape


def test_builtin_morphologies_are_registered() -> None:
    names = morphology_names()
    for n in ("xor", "single_pole", "single_pole_nv", "dpv", "dpnv", "discrete_tmaze"):
        assert n in names
    assert get_morphology("dpnv").sensors[0].vl == 3
    assert get_morphology("dpv").sensors[0].vl == 6
    with pytest.raises(MorphologyError, match="unknown morphology"):
        get_morphology("nope")


def test_register_user_morphology() -> None:
    m = Morphology("test_user_xor", (SensorSpec("xor_GetInput", 2),),
                   (ActuatorSpec("xor_SendOutput", 1),), XorScape, 4)  # fmt: skip
    register_morphology(m, replace=True)
    assert get_morphology("test_user_xor") is m
    with pytest.raises(MorphologyError, match="already"):
        register_morphology(m)
    with pytest.raises(MorphologyError):
        register_morphology(Morphology("bad", (SensorSpec("s", 0),), (), XorScape, 1))


gym_missing = importlib.util.find_spec("gymnasium") is None


@pytest.mark.skipif(gym_missing, reason="gymnasium not installed (extra 'gym')")
def test_gym_cartpole_episode_is_seeded_and_controllable() -> None:
    from morphologies.gym_adapter import DEFAULT_EPISODES

    morph = get_morphology("gym:CartPole-v1")
    assert [s.vl for s in morph.sensors] == [4] and [a.vl for a in morph.actuators] == [2]
    assert morph.max_cycles == DEFAULT_EPISODES * 500  # episodes of at most 500 steps

    def lean(inputs):  # type: ignore[no-untyped-def]
        o = inputs["observation"]  # angle and angular velocity are unscaled (unbounded spaces)
        push_right = o[2] + 0.5 * o[3] > 0
        return {"action": [0.0, 1.0] if push_right else [1.0, 0.0]}

    a = run_episode(morph, lean, random.Random(4))
    b = run_episode(morph, lean, random.Random(4))
    idle = run_episode(morph, lambda i: {"action": [1.0, 0.0]}, random.Random(4))
    assert a == b
    assert a.fitness > 100 > idle.fitness


@pytest.mark.skipif(gym_missing, reason="gymnasium not installed (extra 'gym')")
@pytest.mark.parametrize(
    ("env_id", "n_obs", "n_act"), [("Acrobot-v1", 6, 3), ("MountainCar-v0", 2, 3)]
)
def test_gym_other_classic_control(env_id: str, n_obs: int, n_act: int) -> None:
    morph = get_morphology(f"gym:{env_id},episodes=2")
    assert morph.sensors[0].vl == n_obs and morph.actuators[0].vl == n_act
    with morph.new_scape(random.Random(0)) as scape:  # type: ignore[attr-defined]
        obs = scape.sense("observation")
        assert len(obs) == n_obs and all(-1.0 <= v <= 1.0 for v in obs)  # bounded: scaled
        fit, halt = scape.act("action", [0.0, 0.0, 1.0])
        assert fit == 0.0 and not halt  # the mean return comes with the last episode's end
    # one constant action reaches neither goal: -1 per step until the time limit, twice
    res = run_episode(morph, lambda i: {"action": [0.0, 0.0, 1.0]}, random.Random(0))
    assert res.fitness == -morph.max_cycles / 2 and res.cycles == morph.max_cycles
    assert not res.goal_reached


@pytest.mark.skipif(importlib.util.find_spec("Box2D") is None, reason="box2d not installed")
def test_gym_lunar_lander() -> None:
    morph = get_morphology("gym:LunarLander-v3")
    assert morph.sensors[0].vl == 8 and morph.actuators[0].vl == 4
    res = run_episode(morph, lambda i: {"action": [1.0, 0.0, 0.0, 0.0]}, random.Random(2))
    assert res.cycles < morph.max_cycles  # doing nothing crashes well before the time limit


@pytest.mark.skipif(gym_missing, reason="gymnasium not installed (extra 'gym')")
def test_gym_unknown_environment() -> None:
    with pytest.raises(MorphologyError):
        get_morphology("gym:NoSuchEnv-v0")


def test_solved_thresholds_are_the_benchmark_ones() -> None:
    from morphologies.gym_adapter import SOLVED_AT

    assert SOLVED_AT == {
        "CartPole-v1": 475,
        "Acrobot-v1": -100,
        "MountainCar-v0": -110,
        "LunarLander-v3": 200,
    }
    if not gym_missing:  # the environments' own specs say the same
        import gymnasium

        for env_id, threshold in SOLVED_AT.items():
            assert gymnasium.spec(env_id).reward_threshold == threshold
