from __future__ import annotations

import pytest

from actors.evolution.candidate import Candidate, Scored
from actors.evolution.errors import SelectionError
from actors.evolution.fitness import postprocess
from actors.evolution.hall_of_fame import Champion, HallOfFame, hof_key, update_hof


def scored(*rows: tuple[str, float, int], specie: str = "s") -> list[Scored]:
    cands = [Candidate(a, (f,), n, specie_id=specie, fingerprint=n) for a, f, n in rows]
    return list(postprocess("none", cands).scored)


def test_hof_key_from_distinguishers() -> None:
    c = Candidate("a", (1.0,), 3, fingerprint=("p", 2))
    assert hof_key(c, ["size"]) == (3,)
    assert hof_key(c, ["fingerprint", "size"]) == (("p", 2), 3)
    with pytest.raises(SelectionError):
        hof_key(c, ["colour"])
    ch = Champion.of(Scored(c, 0.5), ["size"])
    assert (ch.agent_id, ch.score, ch.key, ch.fs) == ("a", 0.5, (3,), 1.0)


def test_update_hof_pareto_rules() -> None:
    hall = HallOfFame("s")
    first = scored(("a", 1.0, 2), ("b", 5.0, 3))
    hall, losers, evicted = update_hof(hall, first)
    assert hall.ids() == ("b", "a") and losers == () and evicted == ()
    # same key (size 2): c beats a and replaces it; d equals c -> loser
    hall, losers, evicted = update_hof(hall, scored(("c", 2.0, 2), ("d", 2.0, 2)))
    assert set(hall.ids()) == {"b", "c"} and losers == ("d",) and evicted == ("a",)


def test_update_hof_keeps_pareto_front_of_vectors() -> None:
    mk = lambda a, f: Scored(Candidate(a, f, 1, specie_id="s"), f[0])  # noqa: E731
    hall, _, _ = update_hof(HallOfFame("s"), [mk("a", (2.0, 1.0))])
    hall, losers, _ = update_hof(hall, [mk("b", (1.0, 2.0))])
    assert set(hall.ids()) == {"a", "b"} and not losers
    hall, losers, evicted = update_hof(hall, [mk("c", (3.0, 3.0))])
    assert hall.ids() == ("c",) and set(evicted) == {"a", "b"}


def test_hall_of_fame_is_bounded() -> None:
    hall, _, evicted = update_hof(
        HallOfFame("s"), scored(*[(f"a{i}", float(i), i + 1) for i in range(6)]), size_limit=3
    )
    assert len(hall) == 3 and set(hall.ids()) == {"a3", "a4", "a5"}
    assert set(evicted) == {"a0", "a1", "a2"}


def test_update_hof_rejects_foreign_species() -> None:
    with pytest.raises(SelectionError, match="belongs to species"):
        update_hof(HallOfFame("x"), scored(("a", 1.0, 1)))


def test_agents_already_in_the_hall_are_skipped() -> None:
    hall, _, _ = update_hof(HallOfFame("s"), scored(("a", 1.0, 1)))
    again, losers, evicted = update_hof(hall, scored(("a", 5.0, 1)))
    assert again == hall and losers == () and evicted == ()
    with pytest.raises(SelectionError):
        update_hof(hall, scored(("b", 1.0, 1)), size_limit=0)
