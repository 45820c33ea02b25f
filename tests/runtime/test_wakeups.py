"""actors.runtime.wakeups: a timer checked just before it is due keeps a non-zero remaining
time, so Thespian's ``filter(None, delays)`` cannot drop it and leave ``select`` without a
timeout."""

from __future__ import annotations

from datetime import timedelta

import pytest
from thespian.system.timing import ExpirationTimer, ExpirationTimerView

from actors.runtime import wakeups


@pytest.fixture(autouse=True)
def _installed() -> None:
    wakeups.install()


@pytest.mark.parametrize("left", [1e-9, 1e-7, 4.9e-7])
def test_a_timer_due_in_under_half_a_microsecond_is_not_zero(left: float) -> None:
    view = ExpirationTimerView(timedelta(seconds=1), 100.0 + left, 100.0)
    assert not view.expired()
    assert view.remaining() == timedelta(microseconds=1)
    # the transport's own computation of its select delay keeps it
    delays = list(filter(None, [view.remaining(), None]))
    assert delays == [timedelta(microseconds=1)]


@pytest.mark.parametrize(
    "due, now, want",
    [
        (100.0, 100.0, timedelta(0)),  # due now: expired, nothing remains
        (100.0, 105.0, timedelta(0)),  # long expired
        (102.5, 100.0, timedelta(seconds=2.5)),  # ordinary timers are unchanged
        (100.000002, 100.0, timedelta(microseconds=2)),
    ],
)
def test_expired_and_ordinary_timers_are_unchanged(due: float, now: float, want: timedelta) -> None:
    view = ExpirationTimerView(timedelta(seconds=1), due, now)
    assert view.remaining() == want


def test_no_deadline_stays_forever() -> None:
    assert ExpirationTimer(None).view().remaining() is None
    assert ExpirationTimer(None).view().remaining(forever="f") == "f"


def test_install_is_idempotent() -> None:
    fn = ExpirationTimerView.remaining
    wakeups.install()
    assert ExpirationTimerView.remaining is fn and wakeups.installed()
