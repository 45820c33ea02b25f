"""Test helper: count the Gymnasium environments made and closed, and the seeds they were
reset with (``gymnasium.make`` replaced for the duration of a test)."""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass, field
from typing import Any

import pytest

gym_missing = importlib.util.find_spec("gymnasium") is None
needs_gym = pytest.mark.skipif(gym_missing, reason="gymnasium not installed (extra 'gym')")


@dataclass
class EnvLog:
    """What the tracked ``gymnasium.make`` saw: ``made`` = ``(env_id, kwargs)`` per env,
    ``closed`` = indices of closed envs, ``resets`` = ``(env index, seed)`` per reset."""

    made: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    closed: set[int] = field(default_factory=set)
    resets: list[tuple[int, int | None]] = field(default_factory=list)

    @property
    def open(self) -> int:
        return len(self.made) - len(self.closed)

    def seeds(self, env: int | None = None) -> list[int | None]:
        return [s for i, s in self.resets if env is None or i == env]


def track_envs(monkeypatch: pytest.MonkeyPatch) -> EnvLog:
    """Replace ``gymnasium.make`` by a wrapper that records into the returned log."""
    import gymnasium

    real = gymnasium.make
    log = EnvLog()

    def make(env_id: str, **kwargs: Any) -> Any:
        env = real(env_id, **kwargs)
        index = len(log.made)
        log.made.append((env_id, dict(kwargs)))
        real_close, real_reset = env.close, env.reset

        def close() -> None:
            log.closed.add(index)
            real_close()

        def reset(*, seed: int | None = None, options: Any = None) -> Any:
            log.resets.append((index, seed))
            return real_reset(seed=seed, options=options)

        env.close, env.reset = close, reset
        return env

    monkeypatch.setattr(gymnasium, "make", make)
    return log
