"""Pure sharing policies: when to publish a champion (rate limits use
:class:`mesh.rate.TokenBucket`, re-exported here).

Nothing here reads a clock: callers pass ``now`` (seconds, any monotonic origin).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from mesh.rate import TokenBucket

__all__ = ["PublishPolicy", "TokenBucket"]


@dataclass
class PublishPolicy:
    """Publish a champion when it beats what this node last published by a margin.

    The margin is ``max(threshold, relative * |last published|)``; the first champion is
    always worth publishing, and so is the first champion that solves the task (at once,
    whatever its fitness: solving is not the same as the highest fitness). Publications are
    otherwise at least ``interval`` seconds apart: an improvement that arrives too early is
    simply offered again later (the caller consults the policy with its current champion
    after every generation).

    With a byte ``budget`` (bytes per second, 0: none), what publishing sends is also paced.
    Every publication spends its bytes from an allowance that grows by ``budget`` per second
    up to ``burst`` bytes; so does any other sending the caller charges with :meth:`charge`
    (such as a DHT store of the champion, made only when :meth:`allows`). A publication may
    start whenever the allowance is not negative and may overdraw it (an envelope larger than
    the burst is not barred forever); the next then waits until the debt is paid back. Over
    any span of T seconds the bytes spent are therefore at most ``burst + budget * T`` plus
    one overdraft, which bounds the champion traffic by construction. A first solution is
    never held back (but is charged).
    """

    threshold: float = 0.0
    relative: float = 0.01
    interval: float = 0.0
    budget: float = 0.0
    burst: float = 0.0
    last_fitness: float | None = None
    last_time: float | None = None
    last_solved: bool = False
    count: int = 0
    allowance: float | None = None  # bytes; None until first used (then starts at ``burst``)
    stamp: float | None = None

    def margin(self) -> float:
        if self.last_fitness is None:
            return 0.0
        return max(self.threshold, self.relative * abs(self.last_fitness))

    def worth(self, fitness: float, solved: bool = False) -> bool:
        """Does ``fitness`` improve enough on the last publication (ignoring time)?"""
        if not math.isfinite(fitness):
            return False
        if self.last_fitness is None:
            return True
        if solved and not self.last_solved:
            return True  # the first solution is news whatever its fitness
        return fitness > self.last_fitness + self.margin()

    def consider(self, fitness: float, now: float, solved: bool = False) -> bool:
        """True if the champion should be published now (then call :meth:`published`)."""
        if not self.worth(fitness, solved):
            return False
        if solved and not self.last_solved:
            return True
        if self.last_time is not None and now - self.last_time < self.interval:
            return False
        return self.allows(now)

    def allows(self, now: float) -> bool:
        """May something be sent now under the byte budget (allowance not negative)?"""
        return self.budget <= 0 or self._refill(now) >= -1e-6

    def _refill(self, now: float) -> float:
        """The byte allowance at ``now`` (grown by ``budget``/s since the last look)."""
        if self.allowance is None:
            self.allowance = float(self.burst)
        elif self.stamp is not None and now > self.stamp:
            self.allowance = min(
                float(self.burst), self.allowance + (now - self.stamp) * self.budget
            )
        if self.stamp is None or now > self.stamp:
            self.stamp = now
        return self.allowance

    def charge(self, nbytes: float, now: float) -> None:
        """Spend ``nbytes`` of the byte allowance (no-op without a ``budget``); the caller
        sends only when :meth:`allows` says so (a first solution excepted)."""
        if self.budget > 0:
            self.allowance = self._refill(now) - max(0.0, nbytes)

    def seen(self, fitness: float) -> None:
        """Another node's champion of ``fitness`` was adopted: the mesh already has it, so the
        bar rises to it (it never falls; the publication time is unchanged)."""
        if math.isfinite(fitness):
            self.last_fitness = (
                fitness if self.last_fitness is None else max(self.last_fitness, fitness)
            )

    def published(
        self, fitness: float, now: float, solved: bool = False, nbytes: float = 0.0
    ) -> None:
        """Record a publication that sends ``nbytes`` (the bar never goes down)."""
        self.charge(nbytes, now)
        self.last_fitness = (
            fitness if self.last_fitness is None else max(self.last_fitness, fitness)
        )
        self.last_time = now
        self.last_solved = self.last_solved or solved
        self.count += 1
