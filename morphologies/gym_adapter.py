"""Gymnasium environments as morphologies (optional extra ``gym``; LunarLander needs ``box2d``).

``gym_morphology("CartPole-v1")`` gives a morphology with one sensor ``observation`` and one
actuator ``action``:

* Observation ``Box``: flattened; dimensions with finite bounds (|bound| ≤ 1e6) are scaled
  linearly to [-1, 1], the others passed through unscaled. ``Discrete(n)``: one-hot of length n.
* Action ``Discrete(n)``: the actuator has vl n and the action is the index of the largest output
  (first on ties). ``Box``: vl = its size, each output clipped to [-1, 1] and mapped linearly
  onto [low, high] (unbounded dimensions take the raw output).
* Fitness: the reward of each step; halt on ``terminated`` or ``truncated``.
* The environment is seeded from the scape's rng on reset (``env.reset(seed=...)``), so the same
  rng gives the same episode.

Other spaces (Dict, Tuple, MultiDiscrete…) raise :class:`~morphologies.base.MorphologyError`.
Call :meth:`GymScape.close` (or use it as a context manager) when done with a scape.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

import numpy as np

from morphologies.base import ActuatorSpec, Morphology, MorphologyError, SensorSpec, check_vector

__all__ = ["SOLVED_AT", "GymScape", "gym_morphology"]

#: Average return over 100 episodes at which an environment counts as solved
#: (``docs/benchmarks.md``).
SOLVED_AT = {
    "CartPole-v1": 475.0,
    "Acrobot-v1": -100.0,
    "MountainCar-v0": -110.0,
    "LunarLander-v3": 200.0,
}

_BIG = 1e6


def _gym() -> Any:
    try:
        import gymnasium
    except ImportError as exc:  # pragma: no cover - depends on the installation
        raise MorphologyError("the gym adapter needs the 'gym' extra (gymnasium)") from exc
    return gymnasium


class _Codec:
    """Observation / action conversion for one environment's spaces."""

    def __init__(self, env: Any) -> None:
        spaces = _gym().spaces
        obs, act = env.observation_space, env.action_space
        if isinstance(obs, spaces.Box):
            self.obs_kind = "box"
            low = np.asarray(obs.low, dtype=np.float64).ravel()
            high = np.asarray(obs.high, dtype=np.float64).ravel()
            self.obs_scaled = (np.abs(low) <= _BIG) & (np.abs(high) <= _BIG) & (high > low)
            self.obs_low, self.obs_high = low, high
            self.obs_vl = low.size
        elif isinstance(obs, spaces.Discrete):
            self.obs_kind, self.obs_vl, self.obs_start = "discrete", int(obs.n), int(obs.start)
        else:
            raise MorphologyError(f"unsupported observation space {obs!r}")
        if isinstance(act, spaces.Discrete):
            self.act_kind, self.act_vl, self.act_start = "discrete", int(act.n), int(act.start)
        elif isinstance(act, spaces.Box):
            self.act_kind = "box"
            self.act_shape = act.shape
            self.act_low = np.asarray(act.low, dtype=np.float64).ravel()
            self.act_high = np.asarray(act.high, dtype=np.float64).ravel()
            self.act_vl = self.act_low.size
        else:
            raise MorphologyError(f"unsupported action space {act!r}")

    def observation(self, obs: Any) -> list[float]:
        if self.obs_kind == "discrete":
            vec = [0.0] * self.obs_vl
            vec[int(obs) - self.obs_start] = 1.0
            return vec
        o = np.asarray(obs, dtype=np.float64).ravel()
        span = np.where(self.obs_scaled, self.obs_high - self.obs_low, 1.0)
        scaled = np.where(self.obs_scaled, 2.0 * (o - self.obs_low) / span - 1.0, o)
        return [float(v) for v in scaled]

    def action(self, output: Sequence[float]) -> Any:
        vec = check_vector(output, self.act_vl, "action")
        if self.act_kind == "discrete":
            return self.act_start + int(np.argmax(vec))
        out = np.clip(np.asarray(vec), -1.0, 1.0)
        bounded = (np.abs(self.act_low) <= _BIG) & (np.abs(self.act_high) <= _BIG)
        mapped = np.where(
            bounded, self.act_low + (out + 1.0) / 2.0 * (self.act_high - self.act_low), out
        )
        return mapped.reshape(self.act_shape).astype(np.float32)


class GymScape:
    """One episode of a Gymnasium environment."""

    def __init__(self, env_id: str, rng: random.Random, **make_kwargs: Any) -> None:
        self.env = _gym().make(env_id, **make_kwargs)
        self.codec = _Codec(self.env)
        obs, _ = self.env.reset(seed=rng.randrange(2**31))
        self._obs = self.codec.observation(obs)
        self.goal_reached = False
        self.done = False

    def sense(self, sensor: str) -> list[float]:
        return list(self._obs)

    def act(self, actuator: str, output: Sequence[float]) -> tuple[float, bool]:
        if self.done:
            raise MorphologyError("the episode has ended")
        obs, reward, terminated, truncated, _ = self.env.step(self.codec.action(output))
        self._obs = self.codec.observation(obs)
        self.done = bool(terminated or truncated)
        return float(reward), self.done

    def close(self) -> None:
        self.env.close()

    def __enter__(self) -> GymScape:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def gym_morphology(env_id: str, **make_kwargs: Any) -> Morphology:
    """A morphology for a Gymnasium environment with Box/Discrete spaces (named ``gym:<id>``)."""
    gym = _gym()
    try:
        env = gym.make(env_id, **make_kwargs)
    except Exception as exc:  # gymnasium raises several types for unknown ids / missing deps
        raise MorphologyError(f"cannot make gymnasium environment {env_id!r}: {exc}") from exc
    try:
        codec = _Codec(env)
        limit = env.spec.max_episode_steps if env.spec is not None else None
    finally:
        env.close()
    return Morphology(
        name=f"gym:{env_id}",
        sensors=(SensorSpec("observation", codec.obs_vl),),
        actuators=(ActuatorSpec("action", codec.act_vl),),
        scape_factory=lambda rng: GymScape(env_id, rng, **make_kwargs),
        max_cycles=int(limit) if limit else 100_000,
        description=f"Gymnasium {env_id}",
    )
