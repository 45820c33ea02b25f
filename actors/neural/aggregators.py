"""Signal aggregators of DXNN2 (``signal_aggregator.erl``), scalar and vectorised.

A neuron's inputs arrive as an ordered list of vectors, one per input link (a sensor's vector or
a neuron's one-element output); ``weights`` has the same shape. The bias, if the neuron has one,
is separate (``None`` when absent: ``mult_product`` then has no bias factor).

The floating-point operations happen in DXNN's order, so every path of this package computes
bit-identical aggregates: per input vector ``dot = I_k*W_k + dot`` from ``dot = 0``, then
``acc = dot + acc`` over the vectors, and finally ``acc + bias``.

* ``dot_product``: Σ I·W + bias.
* ``diff_product``: stateful. The first call after a reset is a plain dot product of the inputs;
  every later call takes the dot product of (inputs - previous inputs). The bias is added in
  both cases. DXNN keeps the previous inputs in the neuron's process dictionary, which survives
  ``reset``; here a reset clears them, so each evaluation is independent of the one before.
* ``mult_product``: Π (I·W) over every element, times the bias if there is one.

Extend with :func:`register_aggregator`. A stateful aggregator receives the previous call's
inputs (``None`` on the first call after a reset).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from actors.neural.registry import Registry, check_arity

__all__ = ["AGGREGATORS", "Aggregator", "aggregator", "register_aggregator"]

Array = npt.NDArray[np.float64]
Vectors = Sequence[Sequence[float]]
ScalarAgg = Callable[[Vectors, Vectors, "float | None", "Vectors | None"], float]
VectorAgg = Callable[[list[Array], list[Array], "Array | None", "list[Array] | None"], Array]


@dataclass(frozen=True)
class Aggregator:
    """A registered aggregator: ``scalar(inputs, weights, bias, prev)`` and its batch form.

    The batch form takes lists of ``(E, len)`` arrays, a bias array ``(E,)`` or ``None`` and the
    previous inputs (or ``None``) and returns ``(E,)``.
    """

    name: str
    scalar: ScalarAgg
    vector: VectorAgg
    stateful: bool = False


AGGREGATORS: Registry[Aggregator] = Registry("aggregator")


def register_aggregator(
    name: str,
    scalar: ScalarAgg,
    vector: VectorAgg | None = None,
    *,
    stateful: bool = False,
    replace: bool = False,
) -> Aggregator:
    """Register an aggregator. Without ``vector`` the batch path loops over the scalar form."""
    check_arity(scalar, 4, f"aggregator {name!r}")
    if vector is None:
        vector = _loop_vector(scalar)
    else:
        check_arity(vector, 4, f"aggregator {name!r} (vector form)")
    return AGGREGATORS.add(name, Aggregator(name, scalar, vector, stateful), replace=replace)


def aggregator(name: str) -> Aggregator:
    return AGGREGATORS.get(name)


def _loop_vector(fn: ScalarAgg) -> VectorAgg:
    def vector(
        inputs: list[Array], weights: list[Array], bias: Array | None, prev: list[Array] | None
    ) -> Array:
        n = inputs[0].shape[0] if inputs else (0 if bias is None else bias.shape[0])
        out = np.empty(n)
        for e in range(n):
            out[e] = fn(
                [v[e].tolist() for v in inputs],
                [w[e].tolist() for w in weights],
                None if bias is None else float(bias[e]),
                None if prev is None else [p[e].tolist() for p in prev],
            )
        return out

    return vector


# --------------------------------------------------------------------------- scalar forms


def _dot(inputs: Vectors, weights: Vectors) -> float:
    acc = 0.0
    for vec, ws in zip(inputs, weights, strict=True):
        dot = 0.0
        for i, w in zip(vec, ws, strict=True):
            dot = i * w + dot
        acc = dot + acc
    return acc


def dot_product(
    inputs: Vectors, weights: Vectors, bias: float | None, prev: Vectors | None
) -> float:
    acc = _dot(inputs, weights)
    return acc if bias is None else acc + bias


def diff_product(
    inputs: Vectors, weights: Vectors, bias: float | None, prev: Vectors | None
) -> float:
    if prev is not None:
        inputs = [
            [a - b for a, b in zip(cur, old, strict=True)]
            for cur, old in zip(inputs, prev, strict=True)
        ]
    acc = _dot(inputs, weights)
    return acc if bias is None else acc + bias


def mult_product(
    inputs: Vectors, weights: Vectors, bias: float | None, prev: Vectors | None
) -> float:
    acc = 1.0
    for vec, ws in zip(inputs, weights, strict=True):
        m = 1.0
        for i, w in zip(vec, ws, strict=True):
            m = i * w * m
        acc = m * acc
    return acc if bias is None else acc * bias


# --------------------------------------------------------------------------- vector forms


def _v_dot(inputs: list[Array], weights: list[Array]) -> Array | float:
    acc: Array | float = 0.0
    for vec, ws in zip(inputs, weights, strict=True):
        dot: Array | float = 0.0
        for k in range(vec.shape[1]):
            dot = vec[:, k] * ws[:, k] + dot
        acc = dot + acc
    return acc


def _v_dot_product(
    inputs: list[Array], weights: list[Array], bias: Array | None, prev: list[Array] | None
) -> Array:
    acc = _v_dot(inputs, weights)
    return np.asarray(acc if bias is None else acc + bias, dtype=np.float64)


def _v_diff_product(
    inputs: list[Array], weights: list[Array], bias: Array | None, prev: list[Array] | None
) -> Array:
    if prev is not None:
        inputs = [cur - old for cur, old in zip(inputs, prev, strict=True)]
    return _v_dot_product(inputs, weights, bias, None)


def _v_mult_product(
    inputs: list[Array], weights: list[Array], bias: Array | None, prev: list[Array] | None
) -> Array:
    acc: Array | float = 1.0
    for vec, ws in zip(inputs, weights, strict=True):
        m: Array | float = 1.0
        for k in range(vec.shape[1]):
            m = vec[:, k] * ws[:, k] * m
        acc = m * acc
    return np.asarray(acc if bias is None else acc * bias, dtype=np.float64)


AGGREGATORS.add("dot_product", Aggregator("dot_product", dot_product, _v_dot_product))
AGGREGATORS.add(
    "diff_product", Aggregator("diff_product", diff_product, _v_diff_product, stateful=True)
)
AGGREGATORS.add("mult_product", Aggregator("mult_product", mult_product, _v_mult_product))
