"""Shared fixtures of the distributed tests: genotypes, keys, envelopes."""

from __future__ import annotations

import random

from actors.distributed.envelope import ChampionEnvelope, seal
from actors.evolution.config import EvolutionConfig
from actors.evolution.setup import build_constraint, morphology_spec
from actors.genotype import Agent, construct_agent
from mesh.identity import NodeKey
from morphologies import get_morphology


def agent(morph: str = "xor", seed: int = 1) -> Agent:
    spec = morphology_spec(get_morphology(morph))
    return construct_agent(spec, build_constraint(morph, EvolutionConfig()), random.Random(seed))


def key(seed: int) -> NodeKey:
    return NodeKey.from_seed(bytes([seed]) * 32)


def envelope(
    k: NodeKey, *, morph: str = "xor", seed: int = 1, realm: str = "lab", fitness: float = 0.5
) -> ChampionEnvelope:
    return seal(k, agent(morph, seed), realm=realm, seq=1, fitness=(fitness,))
