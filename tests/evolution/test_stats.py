from __future__ import annotations

import pytest

from actors.evolution.candidate import Candidate
from actors.evolution.errors import ReporterError
from actors.evolution.stats import GenerationStats, generation_stats


def population() -> list[Candidate]:
    return [
        Candidate("a", (1.0, 5.0), 2, specie_id="s1", fingerprint="x"),
        Candidate("b", (3.0, 0.0), 4, specie_id="s1", fingerprint="y"),
        Candidate("c", (2.0, 1.0), 3, specie_id="s2", fingerprint="x"),
    ]


def test_generation_stats_figures() -> None:
    s = generation_stats(
        4,
        population(),
        evaluations=30,
        total_evaluations=120,
        wall_seconds=1.5,
        elapsed_seconds=6.0,
    )
    assert (s.fitness_avg, s.fitness_max, s.fitness_min) == (2.0, 3.0, 1.0)
    assert s.fitness_std == pytest.approx((2 / 3) ** 0.5)
    assert s.neurons_avg == 3.0 and s.neurons_std == pytest.approx((2 / 3) ** 0.5)
    assert (s.diversity, s.species, s.population) == (2, 2, 3)
    assert s.best_agent_id == "b" and s.best_fitness == (3.0, 0.0)
    assert s.evaluations_per_second == 20.0


def test_stats_dict_round_trip_and_validation() -> None:
    s = generation_stats(
        0,
        population(),
        evaluations=3,
        total_evaluations=3,
        wall_seconds=0.0,
        elapsed_seconds=0.0,
        validation_fitness=2.5,
    )
    assert s.evaluations_per_second == 0.0
    d = s.to_dict()
    assert d["best_fitness"] == [3.0, 0.0]
    assert GenerationStats.from_dict(d) == s
    with pytest.raises(ReporterError, match="unknown"):
        GenerationStats.from_dict(d | {"colour": 1})
    with pytest.raises(ReporterError):
        GenerationStats.from_dict({k: v for k, v in d.items() if k != "generation"})
    with pytest.raises(ReporterError, match="generation"):
        GenerationStats.from_dict(d | {"generation": "3"})
    with pytest.raises(ReporterError):
        generation_stats(
            0, [], evaluations=0, total_evaluations=0, wall_seconds=0, elapsed_seconds=0
        )
