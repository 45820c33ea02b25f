"""Publish policy and token buckets (pure, literal times)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from actors.distributed.policy import PublishPolicy, TokenBucket


def test_first_champion_is_always_worth_publishing() -> None:
    p = PublishPolicy(threshold=0.5, relative=0.5, interval=10.0)
    assert p.consider(-3.0, now=0.0)


def test_margin_is_the_larger_of_absolute_and_relative() -> None:
    p = PublishPolicy(threshold=0.1, relative=0.05, interval=0.0)
    p.published(1.0, now=0.0)
    assert p.margin() == pytest.approx(0.1)
    assert not p.consider(1.1, now=1.0)  # not strictly above 1.1
    assert p.consider(1.1001, now=1.0)
    p.published(10.0, now=2.0)
    assert p.margin() == pytest.approx(0.5)
    assert not p.consider(10.4, now=3.0)
    assert p.consider(10.6, now=3.0)


def test_interval_delays_an_improvement_until_it_passes() -> None:
    p = PublishPolicy(threshold=0.0, relative=0.0, interval=5.0)
    p.published(1.0, now=100.0)
    assert not p.consider(2.0, now=104.9)
    assert p.consider(2.0, now=105.0)


def test_a_solution_skips_the_interval_once() -> None:
    p = PublishPolicy(threshold=1.0, relative=0.0, interval=60.0)
    p.published(1.0, now=0.0)
    assert p.consider(0.5, now=1.0, solved=True)  # lower fitness, but the first solution
    p.published(0.5, now=1.0, solved=True)
    assert not p.consider(1.5, now=2.0, solved=True)  # not a first solution, not 1 + 1.0 better
    assert p.last_fitness == 1.0 and p.count == 2


def test_nan_is_never_published() -> None:
    assert not PublishPolicy().consider(float("nan"), now=0.0)


def test_token_bucket_refills_at_its_rate() -> None:
    b = TokenBucket(rate=2.0, burst=3)
    assert [b.take(0.0) for _ in range(4)] == [True, True, True, False]
    assert not b.take(0.4)  # 0.8 token
    assert b.take(0.5)  # 1.0 token
    assert b.take(10.0) and b.take(10.0) and b.take(10.0) and not b.take(10.0)  # capped at 3
    assert not b.take(9.0)  # time going backwards gives nothing


def test_token_bucket_rejects_nonsense() -> None:
    with pytest.raises(ValueError):
        TokenBucket(rate=0.0, burst=1)


def test_an_adopted_champion_raises_the_bar_and_never_lowers_it() -> None:
    p = PublishPolicy(threshold=0.0, relative=0.0, interval=0.0)
    p.published(0.0, now=0.0)
    p.seen(-1.0)  # a worse champion from elsewhere: the bar stays at 0.0
    assert p.last_fitness == 0.0
    p.seen(2.0)
    assert p.last_fitness == 2.0 and not p.consider(1.5, now=1.0)
    p.seen(float("nan"))
    assert p.last_fitness == 2.0 and p.last_time == 0.0


def test_byte_budget_holds_publications_until_the_debt_is_paid() -> None:
    p = PublishPolicy(threshold=0.0, relative=0.0, budget=100.0, burst=1_000.0)
    assert p.consider(1.0, now=0.0)
    p.published(1.0, now=0.0, nbytes=3_000.0)  # overdraws: 1,000 - 3,000
    assert not p.consider(2.0, now=19.9)  # -2,000 + 1,990 < 0
    assert p.consider(2.0, now=20.0)
    p.charge(500.0, now=20.0)  # e.g. a DHT store of the champion
    assert not p.consider(2.0, now=24.9) and p.consider(2.0, now=25.0)


def test_a_first_solution_is_not_held_back_by_the_budget() -> None:
    p = PublishPolicy(threshold=0.0, relative=0.0, budget=10.0, burst=100.0)
    p.published(1.0, now=0.0, nbytes=10_000.0)
    assert not p.consider(5.0, now=1.0)
    assert p.consider(0.5, now=1.0, solved=True)


def test_no_budget_means_no_byte_pacing() -> None:
    p = PublishPolicy(threshold=0.0, relative=0.0)
    p.published(1.0, now=0.0, nbytes=1e12)
    assert p.consider(2.0, now=0.0)


@settings(max_examples=200, deadline=None)
@given(
    steps=st.lists(
        st.tuples(st.floats(0.0, 5.0), st.floats(0.0, 20_000.0), st.booleans()),
        min_size=1, max_size=60,
    ),
    budget=st.floats(1.0, 5_000.0),
    burst=st.floats(0.0, 50_000.0),
)  # fmt: skip
def test_bytes_spent_in_any_window_stay_within_the_budget(
    steps: list[tuple[float, float, bool]], budget: float, burst: float
) -> None:
    """Whatever the champions and their sizes: bytes(t1..t2) <= burst + budget*(t2-t1) + one
    publication (the overdraft)."""
    p = PublishPolicy(threshold=0.0, relative=0.0, budget=budget, burst=burst)
    now, fitness, spent = 0.0, 0.0, []
    for dt, nbytes, store in steps:
        now += dt
        fitness += 1.0
        if p.consider(fitness, now):
            p.published(fitness, now, nbytes=nbytes)
            spent.append((now, nbytes))
        elif store and p.allows(now):
            p.charge(nbytes / 10, now)
            spent.append((now, nbytes / 10))
    biggest = max(b for _, b in spent) if spent else 0.0
    for i, (t1, _) in enumerate(spent):
        total = 0.0
        for t2, b in spent[i:]:
            total += b
            assert total <= burst + budget * (t2 - t1) + biggest + 1e-6
