"""Gymnasium environments as morphologies (optional extra ``gym``; LunarLander needs ``box2d``).

``gym_morphology("CartPole-v1")`` gives a morphology with one sensor ``observation`` and one
actuator ``action``:

* Observation ``Box``: flattened; dimensions with finite bounds (|bound| ≤ 1e6) are scaled
  linearly to [-1, 1], the others passed through unscaled. ``Discrete(n)``: one-hot of length n.
* Action ``Discrete(n)``: the actuator has vl n and the action is the index of the largest output
  (first on ties). ``Box``: vl = its size, each output clipped to [-1, 1] and mapped linearly
  onto [low, high] (unbounded dimensions take the raw output).

Fitness, goal and seeds:

* One evaluation (one scape) runs ``episodes`` independent episodes (default
  :data:`DEFAULT_EPISODES`) one after the other in one environment made by
  ``gymnasium.make(env_id)``. Episode *i* starts with ``env.reset(seed=seeds[i])``; the scape
  draws its seeds from its rng, uniformly in :data:`TRAINING_SEEDS`, so the same rng gives the
  same evaluation. Between two episodes the scape sets ``new_episode`` and the episode loop
  resets the network's recurrent state, as a user running the episodes one by one would.
* An episode ends on ``terminated`` or ``truncated``, or after ``max_steps`` steps (the
  environment's ``max_episode_steps``, else 100,000). The fitness is the **mean return** over
  the episodes, reported by the act that ends the last one (every other act reports 0).
* ``goal_reached`` is set when that mean reaches the environment's threshold:
  ``env.spec.reward_threshold``, else :data:`SOLVED_AT`. Without a threshold it is never set.
* The success test (registered by :mod:`actors.evolution.success` for every Gymnasium
  morphology) runs :data:`SUCCESS_EPISODES` episodes on the seeds :data:`SUCCESS_SEEDS`
  (0-99, all below :data:`TRAINING_SEEDS`, so never a training seed) in
  ``gymnasium.make(env_id)`` itself, and passes when their mean return reaches the threshold.

Names: ``gym:<EnvId>`` uses :data:`DEFAULT_EPISODES` episodes per evaluation,
``gym:<EnvId>,episodes=K`` uses K (see :func:`parse_gym_name`).

Other spaces (Dict, Tuple, MultiDiscrete…) raise :class:`~morphologies.base.MorphologyError`.
A scape closes its environment when its last episode ends; :meth:`GymScape.close` (or a
``with`` block) closes it earlier, and the episode loops close every scape they made.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from morphologies.base import (
    ActuatorSpec,
    Morphology,
    MorphologyError,
    SensorSpec,
    check_vector,
    run_episode,
)

__all__ = [
    "DEFAULT_EPISODES",
    "SOLVED_AT",
    "SUCCESS_EPISODES",
    "SUCCESS_SEEDS",
    "TRAINING_SEEDS",
    "GymEpisodes",
    "GymScape",
    "GymSettings",
    "gym_morphology",
    "gym_settings",
    "parse_gym_name",
    "run_gym_episodes",
]

#: Average return over 100 episodes at which an environment counts as solved
#: (``docs/benchmarks.md``); used when the environment's spec has no ``reward_threshold``.
SOLVED_AT = {
    "CartPole-v1": 475.0,
    "Acrobot-v1": -100.0,
    "MountainCar-v0": -110.0,
    "LunarLander-v3": 200.0,
}

#: Episodes per evaluation of a ``gym:<EnvId>`` morphology; the fitness is their mean return.
DEFAULT_EPISODES = 5

#: Training episodes draw their seeds uniformly from this range.
TRAINING_SEEDS = range(2**20, 2**31)

#: The success test's episodes and seeds: disjoint from :data:`TRAINING_SEEDS`.
SUCCESS_EPISODES = 100
SUCCESS_SEEDS = range(SUCCESS_EPISODES)

#: Steps per episode for an environment without a time limit.
DEFAULT_MAX_STEPS = 100_000

_BIG = 1e6
_NAME = re.compile(r"gym:(?P<env>[^,]+)(?:,episodes=(?P<k>[1-9][0-9]{0,5}))?")


def _gym() -> Any:
    try:
        import gymnasium
    except ImportError as exc:  # pragma: no cover - depends on the installation
        raise MorphologyError("the gym adapter needs the 'gym' extra (gymnasium)") from exc
    return gymnasium


def _every(episode: int) -> bool:
    return True


def parse_gym_name(name: str) -> tuple[str, int]:
    """``"gym:<EnvId>"`` → ``(EnvId, DEFAULT_EPISODES)``; ``"gym:<EnvId>,episodes=K"`` →
    ``(EnvId, K)`` with 1 ≤ K ≤ 999,999. Anything else raises :class:`MorphologyError`."""
    m = _NAME.fullmatch(name)
    if m is None:
        raise MorphologyError(
            f"bad Gymnasium morphology name {name!r} (gym:<EnvId> or gym:<EnvId>,episodes=K)"
        )
    k = m.group("k")
    return m.group("env"), DEFAULT_EPISODES if k is None else int(k)


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


@dataclass(frozen=True)
class GymSettings:
    """How a Gymnasium morphology evaluates: it is also the morphology's scape factory
    (``settings(rng)`` is a scape of ``episodes`` episodes on seeds drawn from ``rng``)."""

    #: the Gymnasium id given to ``gymnasium.make``
    env_id: str
    #: episodes per evaluation; the fitness is their mean return
    episodes: int
    #: mean return at which the goal is reached (``None``: never)
    threshold: float | None
    #: steps after which an episode ends even if the environment has not ended it
    max_steps: int
    #: extra keyword arguments of ``gymnasium.make`` (empty for ``gym:`` names)
    make_kwargs: tuple[tuple[str, Any], ...] = ()

    def make(self, **extra: Any) -> Any:
        """``gymnasium.make(env_id, **make_kwargs, **extra)``; :class:`MorphologyError` if it
        fails (unknown id, missing dependency)."""
        try:
            return _gym().make(self.env_id, **dict(self.make_kwargs), **extra)
        except Exception as exc:  # gymnasium raises several types for unknown ids / deps
            raise MorphologyError(
                f"cannot make gymnasium environment {self.env_id!r}: {exc}"
            ) from exc

    def make_video_env(self, folder: str) -> Any:
        """An environment (``render_mode="rgb_array"``) wrapped in Gymnasium's ``RecordVideo``,
        recording every episode to ``folder/rl-video-episode-<i>.mp4``; recording needs
        ``moviepy`` (extra ``video``), else :class:`MorphologyError`."""
        env = self.make(render_mode="rgb_array")
        try:
            from gymnasium.wrappers import RecordVideo

            return RecordVideo(env, folder, episode_trigger=_every, disable_logger=True)
        except Exception as exc:  # DependencyNotInstalled (moviepy), a folder that is a file
            env.close()
            raise MorphologyError(f"cannot record a video (extra 'video'): {exc}") from exc

    def training_seeds(self, rng: random.Random) -> list[int]:
        """The episode seeds of one evaluation, drawn from ``rng`` in :data:`TRAINING_SEEDS`."""
        return [
            rng.randrange(TRAINING_SEEDS.start, TRAINING_SEEDS.stop) for _ in range(self.episodes)
        ]

    def __call__(self, rng: random.Random) -> GymScape:
        return GymScape(self, self.training_seeds(rng))


class GymScape:
    """Independent episodes of one environment, one after the other, on the given seeds (see
    the module docstring). ``returns`` / ``lengths`` list the finished episodes' returns and
    step counts. ``env`` replaces the environment the scape would make (e.g. one wrapped to
    record a video); the scape closes it either way."""

    def __init__(
        self, settings: GymSettings, seeds: Sequence[int], *, env: Any | None = None
    ) -> None:
        if not seeds:
            raise MorphologyError("a Gymnasium scape needs at least one episode seed")
        self.settings = settings
        self.seeds = tuple(int(s) for s in seeds)
        self.env = settings.make() if env is None else env
        self.closed = False
        self.returns: list[float] = []
        self.lengths: list[int] = []
        self.goal_reached = False
        self.done = False
        #: set by the act that ended an episode when another one has started
        self.new_episode = False
        try:
            self.codec = _Codec(self.env)
            self._start()
        except BaseException:
            self.close()
            raise

    def _start(self) -> None:
        obs, _ = self.env.reset(seed=self.seeds[len(self.returns)])
        self._obs = self.codec.observation(obs)
        self._return = 0.0
        self._steps = 0

    @property
    def mean_return(self) -> float:
        """Mean of the finished episodes' returns (NaN before the first one ends)."""
        return sum(self.returns) / len(self.returns) if self.returns else float("nan")

    def sense(self, sensor: str) -> list[float]:
        return list(self._obs)

    def act(self, actuator: str, output: Sequence[float]) -> tuple[float, bool]:
        if self.done:
            raise MorphologyError("the episode has ended")
        self.new_episode = False
        obs, reward, terminated, truncated, _ = self.env.step(self.codec.action(output))
        self._return += float(reward)
        self._steps += 1
        if not (terminated or truncated or self._steps >= self.settings.max_steps):
            self._obs = self.codec.observation(obs)
            return 0.0, False
        self.returns.append(self._return)
        self.lengths.append(self._steps)
        if len(self.returns) < len(self.seeds):
            self._start()
            self.new_episode = True
            return 0.0, False
        self.done = True
        mean = self.mean_return
        threshold = self.settings.threshold
        self.goal_reached = threshold is not None and mean >= threshold
        self.close()
        return mean, True

    def close(self) -> None:
        """Close the environment (once; later calls do nothing)."""
        if not self.closed:
            self.closed = True
            self.env.close()

    def __enter__(self) -> GymScape:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass(frozen=True, slots=True)
class GymEpisodes:
    """Episodes run by :func:`run_gym_episodes`: per-episode seeds, returns and lengths."""

    seeds: tuple[int, ...]
    returns: tuple[float, ...]
    lengths: tuple[int, ...]

    @property
    def mean(self) -> float:
        return sum(self.returns) / len(self.returns)


def run_gym_episodes(
    morphology: Morphology,
    policy: Callable[[Mapping[str, Sequence[float]]], Mapping[str, Sequence[float]]],
    seeds: Sequence[int],
    *,
    reset: Callable[[], None] | None = None,
    env: Any | None = None,
) -> GymEpisodes:
    """Run ``policy`` for one episode per seed in ``gymnasium.make(env_id)`` (or ``env``),
    calling ``reset`` before each episode; the environment is closed afterwards."""
    settings = gym_settings(morphology)
    scape = GymScape(settings, seeds, env=env)
    with scape:
        if reset is not None:
            reset()
        run_episode(
            morphology,
            policy,
            random.Random(0),  # unused: the scape is given
            scape=scape,
            max_cycles=len(scape.seeds) * settings.max_steps,
            reset=reset,
        )
    return GymEpisodes(scape.seeds, tuple(scape.returns), tuple(scape.lengths))


def gym_settings(morphology: Morphology) -> GymSettings:
    """The :class:`GymSettings` of a morphology built by :func:`gym_morphology`
    (:class:`MorphologyError` for any other)."""
    factory = morphology.scape_factory
    if not isinstance(factory, GymSettings):
        raise MorphologyError(f"{morphology.name} is not a Gymnasium morphology")
    return factory


def _threshold(env_id: str, spec: Any) -> float | None:
    value = getattr(spec, "reward_threshold", None)
    if value is None:
        value = SOLVED_AT.get(env_id)
    return None if value is None else float(value)


def gym_morphology(
    env_id: str,
    *,
    episodes: int = DEFAULT_EPISODES,
    name: str | None = None,
    **make_kwargs: Any,
) -> Morphology:
    """A morphology for a Gymnasium environment with Box/Discrete spaces: ``episodes`` episodes
    per evaluation (see the module docstring). Named ``gym:<id>`` for the default episode
    count and ``gym:<id>,episodes=K`` otherwise, unless ``name`` is given."""
    if isinstance(episodes, bool) or not isinstance(episodes, int) or episodes < 1:
        raise MorphologyError(f"episodes must be a positive integer, got {episodes!r}")
    probe = GymSettings(env_id, episodes, None, 1, tuple(sorted(make_kwargs.items())))
    env = probe.make()
    try:
        codec = _Codec(env)
        spec = env.spec
        limit = spec.max_episode_steps if spec is not None else None
        threshold = _threshold(env_id, spec)
    finally:
        env.close()
    max_steps = int(limit) if limit else DEFAULT_MAX_STEPS
    settings = GymSettings(env_id, episodes, threshold, max_steps, probe.make_kwargs)
    if name is None:
        name = (
            f"gym:{env_id}" if episodes == DEFAULT_EPISODES else f"gym:{env_id},episodes={episodes}"
        )
    goal = (
        "no goal (no reward threshold)"
        if threshold is None
        else (
            f"goal: mean ≥ {threshold:g}; success test: mean of {SUCCESS_EPISODES} episodes on "
            f"seeds {SUCCESS_SEEDS.start}-{SUCCESS_SEEDS.stop - 1} ≥ {threshold:g}"
        )
    )
    return Morphology(
        name=name,
        sensors=(SensorSpec("observation", codec.obs_vl),),
        actuators=(ActuatorSpec("action", codec.act_vl),),
        scape_factory=settings,
        max_cycles=episodes * max_steps,
        description=(
            f"Gymnasium {env_id}: fitness = mean return of {episodes} episodes on seeds drawn "
            f"from [2^20, 2^31); {goal}"
        ),
    )
