"""Property tests: arbitrary seeds and operator sequences keep every invariant."""

from __future__ import annotations

import random

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from actors.genotype import (
    Agent,
    Constraint,
    MorphologySpec,
    MutationNotApplicable,
    apply_operator,
    construct_agent,
    decode_agent,
    encode_agent,
    mutate,
    offspring,
    validate_agent,
)
from tests.genotype.strategies import (
    ALL_OPS,
    check_invariants,
    constraints,
    morphologies,
    seed_agents,
)

FAST = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
DEEP = settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
OPS = st.lists(st.tuples(st.sampled_from(ALL_OPS), st.integers(0, 2**16)), min_size=1, max_size=60)


def _sequence(start: tuple[Agent, int], pre: int, ops: list[tuple[str, int]]) -> None:
    agent, seed = start
    check_invariants(agent)
    rng = random.Random(seed)
    for _ in range(pre):  # grow some structure first, so operators meet varied networks
        agent = mutate(agent, rng)
    for name, op_seed in ops:
        before = agent
        try:
            agent = apply_operator(agent, name, random.Random(op_seed))
        except MutationNotApplicable:
            assert agent is before
            continue
        event(f"applied {name}")
        assert agent.evo_hist[-1].op == name, "every applied operator is recorded"
        assert len(agent.evo_hist) == len(before.evo_hist) + 1
        check_invariants(agent)
        validate_agent(agent)
    assert decode_agent(encode_agent(agent)) == agent


@FAST
@given(seed_agents(), st.integers(0, 8), OPS)
def test_operator_sequences_keep_invariants(
    start: tuple[Agent, int], pre: int, ops: list[tuple[str, int]]
) -> None:
    _sequence(start, pre, ops)


@pytest.mark.slow
@DEEP
@given(seed_agents(), st.integers(0, 30), OPS)
def test_operator_sequences_keep_invariants_deep(
    start: tuple[Agent, int], pre: int, ops: list[tuple[str, int]]
) -> None:
    _sequence(start, pre, ops)


@FAST
@given(seed_agents(), st.integers(1, 12))
def test_generations_keep_invariants_and_round_trip(start: tuple[Agent, int], gens: int) -> None:
    agent, seed = start
    rng = random.Random(seed)
    for g in range(gens):
        child = offspring(agent, rng) if g % 3 == 2 else mutate(agent, rng)
        assert child.generation == agent.generation + 1
        assert len(child.evo_hist) > len(agent.evo_hist)
        check_invariants(child)
        agent = child
    data = encode_agent(agent)
    back = decode_agent(data)
    assert back == agent
    assert encode_agent(back) == data


@settings(max_examples=25, deadline=None)
@given(morphologies(), constraints(), st.integers(0, 2**32 - 1), st.integers(0, 6))
def test_same_seed_gives_byte_identical_genotypes(
    morph: MorphologySpec, constraint: Constraint, seed: int, gens: int
) -> None:
    def run() -> bytes:
        rng = random.Random(seed)
        agent = construct_agent(morph, constraint, rng)
        for _ in range(gens):
            agent = mutate(agent, rng)
        return encode_agent(agent)

    assert run() == run()
