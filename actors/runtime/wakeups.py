"""Keep a timer that is due in under a microsecond from being lost (``local`` and ``cluster``).

Thespian 4.0.1's TCP transport (``TCPTransport._runWithExpiry``) computes its ``select``
timeout as the least of ``filter(None, [run_time.remaining(), ...])``. ``remaining()`` is a
``timedelta``, and one under 0.5 µs is ``timedelta(0)``, which is false: ``filter(None, ...)``
drops it, and when no socket has a deadline of its own the actor waits in ``select`` with no
timeout, its due ``wakeupAfter`` undelivered until some message arrives. That happens when
the loop checks the timer just before it is due (a message woke it then): rare for one timer,
about once per thousand messages for an actor that re-arms a sub-millisecond timer while busy
(seen as ten-second stalls of the remote gateway, rescued only by the next message).

:func:`install` wraps ``ExpirationTimerView.remaining`` so that a timer that has not expired
has at least one microsecond remaining; an expired one and one without a deadline are
unchanged. Process-wide and idempotent; install it before the actor system starts (the
Admin and every actor process are forked from this one and inherit it).
"""

from __future__ import annotations

import functools
from datetime import timedelta
from typing import Any

from thespian.system import timing

__all__ = ["install", "installed"]

_MARK = "_megabrain_min_remaining"
_TICK = timedelta(microseconds=1)


def installed() -> bool:
    """Whether :func:`install` has wrapped ``ExpirationTimerView.remaining`` here."""
    return getattr(timing.ExpirationTimerView.remaining, _MARK, False)


def install() -> None:
    """Wrap ``ExpirationTimerView.remaining`` (see the module docstring)."""
    if installed():
        return
    original = timing.ExpirationTimerView.remaining

    @functools.wraps(original)
    def remaining(self: Any, forever: Any = None) -> Any:
        left = original(self, forever)
        if isinstance(left, timedelta) and not left and not self.expired():
            return _TICK
        return left

    setattr(remaining, _MARK, True)
    timing.ExpirationTimerView.remaining = remaining  # type: ignore[method-assign]
