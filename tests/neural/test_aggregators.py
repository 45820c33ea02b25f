"""Aggregators: values, DXNN's order of operations, diff_product state, registry."""

from __future__ import annotations

import numpy as np
import pytest

from actors.neural.aggregators import AGGREGATORS, aggregator, register_aggregator
from actors.neural.errors import RegistryError

INPUTS = [[0.5, -1.0], [0.25]]
WEIGHTS = [[2.0, 3.0], [4.0]]


def test_dot_product() -> None:
    f = aggregator("dot_product").scalar
    assert f(INPUTS, WEIGHTS, None, None) == 1.0 - 3.0 + 1.0
    assert f(INPUTS, WEIGHTS, 0.5, None) == -1.0 + 0.5


def test_mult_product() -> None:
    f = aggregator("mult_product").scalar
    assert f(INPUTS, WEIGHTS, None, None) == (1.0 * -3.0) * 1.0
    assert f(INPUTS, WEIGHTS, 0.5, None) == -1.5  # the bias multiplies


def test_diff_product_uses_previous_inputs() -> None:
    agg = aggregator("diff_product")
    assert agg.stateful
    first = agg.scalar(INPUTS, WEIGHTS, 0.1, None)
    assert first == pytest.approx(-1.0 + 0.1)
    later = agg.scalar([[1.5, -1.0], [0.5]], WEIGHTS, 0.1, INPUTS)
    assert later == pytest.approx(1.0 * 2.0 + 0.0 * 3.0 + 0.25 * 4.0 + 0.1)


def test_dxnn_summation_order() -> None:
    """A running dot per input vector, then the vector dots accumulate, then the bias:
    grouping changes the rounding, and DXNN's grouping is the one used."""
    f = aggregator("dot_product").scalar
    big = 1e16
    assert f([[1.0], [big, -big]], [[1.0], [1.0, 1.0]], None, None) == 1.0  # 1 + (big - big)
    assert f([[1.0, big], [-big]], [[1.0, 1.0], [1.0]], None, None) == 0.0  # (1 + big) - big


@pytest.mark.parametrize("name", ["dot_product", "diff_product", "mult_product"])
def test_vector_form_agrees(name: str) -> None:
    rng = np.random.default_rng(1)
    x = [rng.uniform(-1, 1, (5, 2)), rng.uniform(-1, 1, (5, 1))]
    prev = [rng.uniform(-1, 1, (5, 2)), rng.uniform(-1, 1, (5, 1))]
    w = [rng.uniform(-2, 2, (5, 2)), rng.uniform(-2, 2, (5, 1))]
    bias = rng.uniform(-1, 1, 5)
    agg = aggregator(name)
    got = agg.vector(x, w, bias, prev if agg.stateful else None)
    for e in range(5):
        want = agg.scalar(
            [v[e].tolist() for v in x],
            [v[e].tolist() for v in w],
            float(bias[e]),
            [v[e].tolist() for v in prev] if agg.stateful else None,
        )
        assert got[e] == want


def test_user_aggregator() -> None:
    with pytest.raises(RegistryError):
        register_aggregator("bad_agg", lambda inputs, weights: 0.0)  # type: ignore[arg-type]

    def max_product(inputs, weights, bias, prev):  # type: ignore[no-untyped-def]
        return max(
            i * w for v, ws in zip(inputs, weights, strict=True) for i, w in zip(v, ws, strict=True)
        )

    agg = register_aggregator("test_max_product", max_product, replace=True)
    assert "test_max_product" in AGGREGATORS
    got = agg.vector([np.array([[1.0, 2.0]])], [np.array([[3.0, -1.0]])], None, None)
    assert got.tolist() == [3.0]
