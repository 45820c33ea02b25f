"""The weight perturbation rule of the neural package (DXNN2's ``perturb_IPIdPs``)."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest

from actors.neural.errors import NeuralError, PerturbError
from actors.neural.perturb import SAT_LIMIT, perturb_weights


def test_lists_in_arrays_out_inputs_untouched_same_seed_same_result() -> None:
    blocks = [([0.0, 3.1], [0.0, 0.2]), ([1.0], [0.0])]
    out = perturb_weights(blocks, 4.0, random.Random(3))
    assert blocks == [([0.0, 3.1], [0.0, 0.2]), ([1.0], [0.0])]
    assert all(isinstance(w, np.ndarray) and isinstance(d, np.ndarray) for w, d in out)
    again = perturb_weights(blocks, 4.0, random.Random(3))
    assert all(np.array_equal(a, b) for (a, _), (b, _) in zip(out, again, strict=True))
    assert any(not np.array_equal(w, b[0]) for (w, _), b in zip(out, blocks, strict=True))
    assert all(np.all(np.abs(w) <= SAT_LIMIT) for w, _ in out) and math.pi == SAT_LIMIT


@pytest.mark.parametrize(
    ("blocks", "spread"),
    [
        ([([1.0], [0.0])], -1.0),
        ([([1.0], [0.0])], float("nan")),
        ([([1.0], [0.0])], "wide"),
        ([([1.0, 2.0], [0.0])], 1.0),
    ],
)
def test_bad_input_raises_the_packages_error(blocks: list, spread: object) -> None:
    with pytest.raises(PerturbError) as info:
        perturb_weights(blocks, spread, random.Random(0))  # type: ignore[arg-type]
    assert isinstance(info.value, NeuralError) and isinstance(info.value, ValueError)
