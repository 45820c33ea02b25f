from __future__ import annotations

import pytest

from actors.evolution.candidate import Candidate
from actors.evolution.species import (
    Innovation,
    assign_species,
    diversity,
    group_by_fingerprint,
    mean_std,
    species_stats,
    update_innovation,
)


def test_grouping_and_diversity() -> None:
    cs = [
        Candidate("a", (1.0,), 1, fingerprint=("x", 1)),
        Candidate("b", (2.0,), 2, fingerprint=("y", 2)),
        Candidate("c", (3.0,), 1, fingerprint=("x", 1)),
    ]
    groups = group_by_fingerprint(cs)
    assert list(groups) == [("x", 1), ("y", 2)]
    assert [c.agent_id for c in groups[("x", 1)]] == ["a", "c"]
    assert diversity(cs) == 2 and diversity([]) == 0


def test_assign_species_is_stable_and_extends() -> None:
    ids = assign_species(["fa", "fb", "fa"], {})
    assert ids == {"fa": "s1", "fb": "s2"}
    more = assign_species(["fc", "fb"], ids)
    assert more == {"fa": "s1", "fb": "s2", "fc": "s3"}
    # never reuses an id already taken
    assert assign_species(["z"], {"q": "s2"}) == {"q": "s2", "z": "s3"}


def test_species_stats() -> None:
    cs = [
        Candidate("a", (1.0,), 1, specie_id="p", fingerprint=1),
        Candidate("b", (3.0,), 3, specie_id="p", fingerprint=2),
        Candidate("c", (5.0, 1.0), 2, specie_id="q", fingerprint=1),
    ]
    st = {s.specie_id: s for s in species_stats(cs)}
    p = st["p"]
    assert (p.size, p.fitness_avg, p.fitness_max, p.fitness_min) == (2, 2.0, 3.0, 1.0)
    assert p.fitness_std == pytest.approx(1.0) and p.neurons_avg == 2.0
    assert p.diversity == 2 and p.best_agent_id == "b"
    assert st["q"].fitness_std == 0.0 and st["q"].to_dict()["best_agent_id"] == "c"


def test_mean_std() -> None:
    assert mean_std([]) == (0.0, 0.0)
    assert mean_std([2.0, 4.0]) == (3.0, 1.0)


def test_innovation_factor_counts_stagnation() -> None:
    inn = update_innovation(Innovation(), 1.0)
    assert inn == Innovation(0, 1.0)
    inn = update_innovation(update_innovation(inn, 1.0), 0.5)
    assert inn == Innovation(-2, 1.0)
    assert update_innovation(inn, 1.5) == Innovation(0, 1.5)
