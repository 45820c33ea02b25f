"""Pure supervision logic: no clock, no I/O. The supervisor actor
(:mod:`actors.runtime.supervisor`) and the child wrapper it supervises
(:mod:`actors.runtime.child`) are the shells.

* :func:`restart_wanted` -- OTP's restart-type table.
* :class:`IntensityWindow` -- restart intensity over a sliding period (time passed in).
* :func:`restart_plan` -- which children a strategy stops and restarts.
* :class:`DeadlineTable` -- the deadlines of pending requests and timers (one timer per actor).
"""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

from actors.runtime.errors import ChildSpecError
from actors.runtime.messages import Exit

__all__ = ["DeadlineTable", "IntensityWindow", "RestartPlan", "restart_plan", "restart_wanted"]


def restart_wanted(restart: str, reason: Exit) -> bool:
    """Whether a child of restart type ``restart`` that exited with ``reason`` is restarted.

    OTP: permanent always; transient unless the exit is ``normal`` or ``shutdown``;
    temporary never.
    """
    if restart == "permanent":
        return True
    if restart == "transient":
        return not reason.is_normal
    return False


class IntensityWindow:
    """Counts restarts in the last ``period`` seconds (OTP's ``add_restart``).

    :meth:`add` records a restart at ``now`` and returns False when more than
    ``intensity`` restarts fall within ``(now - period, now]`` -- the supervisor must
    then give up and escalate.
    """

    def __init__(self, intensity: int, period: float) -> None:
        self.intensity = intensity
        self.period = period
        self._times: deque[float] = deque()

    def add(self, now: float) -> bool:
        self._times.append(now)
        while self._times and self._times[0] <= now - self.period:
            self._times.popleft()
        return len(self._times) <= self.intensity

    def __len__(self) -> int:
        return len(self._times)


@dataclass(frozen=True, slots=True)
class RestartPlan:
    """Children to stop (in this order) and then to start (in this order)."""

    stop: tuple[str, ...]
    start: tuple[str, ...]


def restart_plan(
    strategy: str, order: Sequence[str], running: set[str], failed: str
) -> RestartPlan:
    """The OTP restart plan for ``failed`` under ``strategy``.

    ``order`` is the start order of all children with specs, ``running`` the ids
    still alive. one_for_one / simple_one_for_one restart only ``failed``;
    one_for_all stops every other running child in reverse start order and starts
    all in start order; rest_for_one does the same with the children started after
    ``failed``.
    """
    if strategy in ("one_for_one", "simple_one_for_one"):
        return RestartPlan(stop=(), start=(failed,))
    if strategy == "one_for_all":
        affected = list(order)
    elif strategy == "rest_for_one":
        affected = list(order[order.index(failed) :]) if failed in order else [failed]
    else:
        raise ChildSpecError(f"unknown strategy {strategy!r}")
    stop = tuple(c for c in reversed(affected) if c != failed and c in running)
    return RestartPlan(stop=stop, start=tuple(affected))


class DeadlineTable:
    """Deadlines of outstanding requests, so that one timer serves them all.

    Pure: times are passed in. :meth:`add` records ``ref`` due at ``deadline``;
    :meth:`discard` forgets it (the reply came); :meth:`expired` pops every ref due
    at ``now``; :meth:`next_deadline` is the earliest pending deadline.
    """

    def __init__(self) -> None:
        self._heap: list[tuple[float, str]] = []
        self._live: dict[str, float] = {}

    def __len__(self) -> int:
        return len(self._live)

    def add(self, ref: str, deadline: float) -> None:
        heapq.heappush(self._heap, (deadline, ref))
        self._live[ref] = deadline
        self._trim()

    def discard(self, ref: str) -> None:
        self._live.pop(ref, None)
        self._trim()

    def expired(self, now: float) -> list[str]:
        due: list[str] = []
        while self._heap and self._heap[0][0] <= now:
            deadline, ref = heapq.heappop(self._heap)
            if self._live.get(ref) == deadline:
                del self._live[ref]
                due.append(ref)
        self._trim()
        return due

    def next_deadline(self) -> float | None:
        self._trim()
        return self._heap[0][0] if self._heap else None

    def _trim(self) -> None:
        heap, live = self._heap, self._live
        while heap and live.get(heap[0][1]) != heap[0][0]:
            heapq.heappop(heap)
