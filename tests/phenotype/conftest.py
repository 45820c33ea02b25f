"""Actor systems for the phenotype tests: one per module and mode, always shut down."""

from __future__ import annotations

import random
from collections.abc import Iterator

import pytest

from actors.neural.spec import NetworkSpec
from actors.runtime import RuntimeSystem, start_system


def inputs_for(spec: NetworkSpec, seed: int, steps: int) -> list[list[float]]:
    """Random flat input vectors (spec sensor order)."""
    rng = random.Random(seed)
    return [[rng.uniform(-1.5, 1.5) for _ in range(spec.input_size)] for _ in range(steps)]


@pytest.fixture(scope="module")
def simple_rt() -> Iterator[RuntimeSystem]:
    with start_system("simple") as rt:
        yield rt
    assert rt.leftovers == []


@pytest.fixture(scope="module")
def local_rt() -> Iterator[RuntimeSystem]:
    with start_system("local") as rt:
        yield rt
    assert rt.leftovers == []
