"""One token bucket for every rate limit of the project (frames, events, rejections, calls).

A :class:`TokenBucket` holds at most ``burst`` tokens, starts full and refills at ``rate``
tokens per second of the caller's clock (``now``; it reads none). :meth:`TokenBucket.take`
spends ``n`` tokens only if there are enough; :meth:`TokenBucket.spend` always spends and may
go below zero (a debt, as a budget of misbehaviour counts it). A clock that steps back
refills nothing and does not move the bucket's stamp.
"""

from __future__ import annotations

__all__ = ["TokenBucket"]


class TokenBucket:
    """``rate`` tokens per second, at most ``burst`` stored; full at ``now`` (default: the
    first time it is used)."""

    __slots__ = ("burst", "rate", "stamp", "tokens")

    def __init__(self, rate: float, burst: float, now: float | None = None) -> None:
        if not rate > 0 or not burst > 0:
            raise ValueError("a token bucket needs rate > 0 and burst > 0")
        self.rate, self.burst = float(rate), float(burst)
        self.tokens = float(burst)
        self.stamp = now

    def refill(self, now: float) -> float:
        """Add the tokens earned since the last call (up to ``burst``); the tokens held."""
        if self.stamp is None or now > self.stamp:
            if self.stamp is not None:
                self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
            self.stamp = now
        return self.tokens

    def take(self, now: float, n: float = 1.0) -> bool:
        """Spend ``n`` tokens if there are enough (refilled up to ``now``)."""
        if self.refill(now) >= n:
            self.tokens -= n
            return True
        return False

    def spend(self, now: float, n: float) -> float:
        """Spend ``n`` tokens whatever is held; the tokens left (negative: in debt)."""
        self.refill(now)
        self.tokens -= n
        return self.tokens
