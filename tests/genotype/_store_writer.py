"""Subprocess for the crash test: evolve a population forever, resuming from the last
checkpoint; prints ``wrote G I`` after each agent written inside generation G's
transaction and ``committed G`` after it commits. Run as
``python -m tests.genotype._store_writer DB_PATH``."""

from __future__ import annotations

import dataclasses
import random
import sys

from actors.genotype import (
    Population,
    Specie,
    construct_agent,
    decode_rng_state,
    encode_rng_state,
    fingerprint_digest,
    offspring,
)
from actors.genotype.store import GenotypeStore
from tests.genotype.conftest import MULTI

POP = "p-00000000000000aa"
SPECIE = "e-00000000000000bb"
SIZE = 12


def main(path: str) -> None:
    store = GenotypeStore(path)
    last = store.last_checkpoint(POP)
    if last is None:
        rng = random.Random(1)
        from actors.genotype import Constraint

        agents = [
            dataclasses.replace(
                construct_agent(MULTI, Constraint(), rng), population_id=POP, specie_id=SPECIE
            )
            for _ in range(SIZE)
        ]
        generation = 0
    else:
        rng = decode_rng_state(last.state)
        agents = list(last.agents)
        generation = last.generation + 1
        agents = [offspring(a, rng) for a in agents]
    for _ in range(100_000):
        specie = Specie(SPECIE, POP, fingerprint_digest(agents[0]), agents[0].constraint,
                        agent_ids=tuple(a.id for a in agents))  # fmt: skip
        pop = Population(POP, specie_ids=(SPECIE,))
        state = encode_rng_state(rng)
        with store.transaction():  # one transaction; the parent may kill it half-way
            for i, agent in enumerate(agents):
                store.put_agent(agent)
                print(f"wrote {generation} {i}", flush=True)
            store.commit_generation(pop, generation, [specie], agents, state=state, prune=True)
        print(f"committed {generation}", flush=True)
        generation += 1
        agents = [offspring(a, rng) for a in agents]


if __name__ == "__main__":
    main(sys.argv[1])
