from __future__ import annotations

import pytest

from actors.evolution.candidate import (
    Candidate,
    Registry,
    as_fitness,
    dominance,
    erl_round,
    roulette_weights,
)
from actors.evolution.errors import SelectionError, TuningError


def test_as_fitness_accepts_floats_and_vectors() -> None:
    assert as_fitness(2) == (2.0,)
    assert as_fitness([1, 2.5]) == (1.0, 2.5)


@pytest.mark.parametrize("bad", [[], [float("nan")], float("inf"), True, "x"])
def test_as_fitness_rejects(bad: object) -> None:
    with pytest.raises(SelectionError):
        as_fitness(bad)  # type: ignore[arg-type]


def test_candidate_validates() -> None:
    c = Candidate("a", 3.0, 2)  # type: ignore[arg-type]
    assert c.fitness == (3.0,) and c.main_fitness == 3.0
    with pytest.raises(SelectionError, match="size"):
        Candidate("a", (1.0,), 0)
    with pytest.raises(SelectionError, match="hashable"):
        Candidate("a", (1.0,), 1, fingerprint=[1, 2])
    with pytest.raises(SelectionError):
        Candidate("", (1.0,), 1)


def test_erl_round_is_half_away_from_zero() -> None:
    assert [erl_round(x) for x in (0.5, 1.5, 2.5, -2.5, 2.49)] == [1, 2, 3, -3, 2]


def test_dominance_as_dxnn2() -> None:
    assert dominance((2.0, 3.0), (1.0, 1.0)) == 1
    assert dominance((1.0, 1.0), (2.0, 3.0)) == -1
    assert dominance((1.0, 1.0), (1.0, 1.0)) == -1  # equal counts as dominated
    assert dominance((3.0, 0.0), (1.0, 1.0)) == 0
    # minimum improvement: 2 is not 50 % better than 1.5
    assert dominance((2.0,), (1.5,), mip=0.5) == -1
    with pytest.raises(SelectionError):
        dominance((1.0,), (1.0, 2.0))


def test_roulette_weights_positive() -> None:
    assert roulette_weights([1.0, 2.0]) == [0.5, 1.0]
    assert roulette_weights([5e-324, 1e-323]) == [0.5, 1.0]  # no underflow
    assert roulette_weights([1e308, -1e308]) == pytest.approx([1.0, 0.05 / 1.05])
    assert min(roulette_weights([1e-320, 1.0])) > 0
    w = roulette_weights([-1.0, 0.0, 1.0])
    assert all(x > 0 for x in w) and w[0] < w[1] < w[2]
    assert roulette_weights([0.0, 0.0]) == [1.0, 1.0]


def test_registry_checks_signature_and_names() -> None:
    reg: Registry = Registry("thing", ("a", "b"), TuningError)

    def ok(a: int, b: int) -> int:
        return a + b

    def bad(a: int) -> int:
        return a

    reg.register("ok", ok)
    assert reg.get("ok")(1, 2) == 3 and "ok" in reg
    with pytest.raises(TuningError, match="must take"):
        reg.register("bad", bad)
    with pytest.raises(TuningError, match="already"):
        reg.register("ok", ok)
    with pytest.raises(TuningError, match="known: ok"):
        reg.get("nope")
