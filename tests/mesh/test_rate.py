"""mesh.rate.TokenBucket, the one token bucket every rate limit uses."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mesh.rate import TokenBucket


def test_take_spends_only_what_is_held_and_spend_goes_into_debt() -> None:
    b = TokenBucket(rate=1.0, burst=2.0, now=0.0)
    assert b.take(0.0) and b.take(0.0) and not b.take(0.0)
    assert b.take(1.0, 1.0) and not b.take(1.5, 1.0)  # half a token earned
    assert b.spend(1.5, 10.0) == pytest.approx(-9.5)  # a budget in debt
    assert b.refill(100.0) == 2.0  # capped at burst


def test_a_clock_that_steps_back_earns_nothing() -> None:
    b = TokenBucket(rate=10.0, burst=1.0, now=5.0)
    assert b.take(5.0) and not b.take(4.0) and not b.take(4.9)
    assert b.stamp == 5.0 and b.take(5.2)


@pytest.mark.parametrize(("rate", "burst"), [(0.0, 1.0), (1.0, 0.0), (-1.0, 5.0)])
def test_nonsense_is_refused(rate: float, burst: float) -> None:
    with pytest.raises(ValueError):
        TokenBucket(rate, burst)


@given(st.lists(st.tuples(st.floats(0, 5), st.floats(0.1, 3)), max_size=60))
def test_never_more_than_burst_plus_earned(steps: list[tuple[float, float]]) -> None:
    b = TokenBucket(rate=2.0, burst=4.0, now=0.0)
    now, spent = 0.0, 0.0
    for dt, n in steps:
        now += dt
        if b.take(now, n):
            spent += n
        assert 0.0 <= b.tokens <= 4.0
    assert spent <= 4.0 + 2.0 * now + 1e-9
