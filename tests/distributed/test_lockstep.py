"""The in-process island model (``actors.distributed.lockstep``): isolated nodes are exactly
the single runs ``evolve`` makes; sharing publishes, re-evaluates and adopts; runs repeat."""

from __future__ import annotations

import dataclasses

import pytest

from actors.distributed.lockstep import LockstepOptions, node_seed, run_lockstep
from actors.evolution.config import EvolutionConfig, MonitorConfig
from actors.evolution.run import EvolveOptions, evolve

SMALL = dataclasses.replace(EvolutionConfig(), monitor=MonitorConfig(population_size=5))


@pytest.mark.parametrize("seed", [1, 2])
def test_an_isolated_node_is_the_single_run_of_its_seed(seed: int) -> None:
    res = run_lockstep(LockstepOptions("xor", 2, seed=seed, sharing=False))
    assert res.solved and res.solved_by is not None
    assert res.published == (0, 0) and res.adopted == (0, 0) and res.reevaluations == (0, 0)
    single = evolve(EvolveOptions("xor", seed=node_seed(seed, res.solved_by)))
    assert single.solved
    assert res.evaluations[res.solved_by] == single.evaluations_to_solve
    # the other node, running at the same pace, had not reached its own solution yet
    other = 1 - res.solved_by
    its_run = evolve(EvolveOptions("xor", seed=node_seed(seed, other)))
    assert its_run.evaluations_to_solve is not None
    assert res.evaluations[other] < its_run.evaluations_to_solve


def test_the_node_with_the_lowest_clock_moves_so_clocks_stay_close() -> None:
    res = run_lockstep(
        LockstepOptions("dpnv", 3, seed=3, config=SMALL, sharing=False, max_evaluations=150)
    )
    assert not res.solved
    clocks = [e + r for e, r in zip(res.evaluations, res.reevaluations, strict=True)]
    assert min(clocks) >= 150
    # one agent's tuning is the most a clock can run ahead of the slowest one
    assert max(clocks) - min(clocks) < 100


def test_sharing_publishes_reevaluates_and_adopts() -> None:
    opts = LockstepOptions("dpnv", 3, seed=4, config=SMALL, max_evaluations=300)
    res = run_lockstep(opts)
    assert all(p >= 1 for p in res.published)  # a node's first champion is always news
    assert sum(res.adopted) >= 2 * min(res.published)
    # one untuned evaluation per adopted genotype, on the receiver's clock
    assert res.reevaluations == res.adopted
    assert run_lockstep(opts) == res  # a pure function of its options


def test_a_latency_beyond_the_run_delivers_nothing() -> None:
    res = run_lockstep(
        LockstepOptions("dpnv", 2, seed=4, config=SMALL, max_evaluations=300, latency=10**6)
    )
    assert sum(res.published) >= 2 and res.adopted == (0, 0) and res.reevaluations == (0, 0)


def test_publishing_every_evaluation_shares_earlier_than_every_generation() -> None:
    gen = run_lockstep(LockstepOptions("dpnv", 2, seed=5, config=SMALL, max_evaluations=60))
    ev = run_lockstep(
        LockstepOptions("dpnv", 2, seed=5, config=SMALL, max_evaluations=60, publish="evaluation")
    )
    assert sum(ev.adopted) > sum(gen.adopted)


@pytest.mark.parametrize(
    "kwargs",
    [{"nodes": 0}, {"publish": "sometimes"}, {"latency": -1}, {"max_evaluations": 0}],
)
def test_bad_options_are_refused(kwargs: dict[str, object]) -> None:
    base: dict[str, object] = {"morphology": "xor", "nodes": 2}
    with pytest.raises(ValueError):
        LockstepOptions(**{**base, **kwargs})  # type: ignore[arg-type]


def test_bad_options_raise_the_packages_usage_error() -> None:
    from actors.distributed.errors import ShareUsageError

    with pytest.raises(ShareUsageError, match="nodes"):
        LockstepOptions(morphology="xor", nodes=0)
