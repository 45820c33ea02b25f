"""Plasticity rules of DXNN2 (``plasticity.erl``), scalar and vectorised.

After a neuron has computed and sent its output ``O`` it updates its input weights from the
inputs ``I`` it just used and ``O`` (``neuron.erl``); the new weights take effect on the next
step. Every updated weight is saturated to ±2π (``plasticity.erl``'s ``SAT_LIMIT``).

A rule is called as ``rule(m, neural_params, inputs, weights, weight_params, bias, bias_params,
output) -> (new_weights, new_bias)`` where ``inputs``/``weights`` are flattened in input order,
``weight_params[k]`` are the learning parameters of weight ``k`` and ``bias_params`` those of the
bias (``bias`` is ``None`` when the neuron has none). ``m`` is the modulatory signal: DXNN computes
it as ``sat(tanh(Σ modulatory inputs · weights + modulatory bias), π)``. DXNN2's genotypes end up
with a modulatory bias at most (``add_bias`` on a neuromodulation neuron; its ``link_ToNeuron``
never leaves a modulatory link), so the evaluators pass ``m = tanh(modulation_bias)``, or 0
without one (``neuromodulation`` is then inert, as in DXNN2).

Rules and their parameters (``n_neural`` per neuron, ``n_weight`` per weight and per bias):

=====================  =========  =========  ==================================================
rule                   neural     weight     update of each weight ``w`` (bias: see below)
=====================  =========  =========  ==================================================
none                   -          -          unchanged
hebbian                [H]        -          w + H·I·O                   (bias unchanged)
hebbian_w              -          [H]        w + H_w·I·O                 (bias unchanged)
ojas                   [H]        -          w + H·O·(I - O·w)           (bias unchanged)
ojas_w                 -          [H]        w + H_w·O·(I - O·w)         (bias unchanged)
neuromodulation        [H,A,B,C,D] -         genheb with H·scale_dzone(m, 0.33, 2π)
self_modulationV1..V3  [A,B,C,D]  [H]        genheb, H = tanh(Σ I·H_w + H_bias)
self_modulationV4,V5   [B,C,D]    [H,A]      genheb, H, A = tanh(Σ I·H_w + H_b), tanh(Σ I·A_w + A_b)
self_modulationV6      -          [H,A,B,C,D] genheb, each of H..D = tanh(Σ I·X_w + X_b)
=====================  =========  =========  ==================================================

``genheb``: ``w + H·(A·I·O + B·I + C·O + D)``, applied to the bias too with ``I = 1``.
V1/V2/V3 (and V4/V5) differ only in how DXNN initialises and mutates their parameters, not in
the update. Extend with :func:`register_plasticity`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from actors.neural.registry import Registry, check_arity

__all__ = [
    "HEREDITY_TYPES",
    "PLASTICITY",
    "SAT_LIMIT",
    "PlasticityRule",
    "loop_vector",
    "plasticity",
    "register_plasticity",
    "scale_dzone",
]

Array = npt.NDArray[np.float64]
#: plasticity.erl: weights changed by plasticity are saturated to ±SAT_LIMIT.
SAT_LIMIT = 2.0 * math.pi

#: DXNN2's heredity types: what an offspring inherits of the weights its parent's plasticity
#: changed during an evaluation -- ``darwinian`` the weights the evaluation started with,
#: ``lamarckian`` the learned ones. The one list the genotype, phenotype and evolution
#: packages check names against.
HEREDITY_TYPES: tuple[str, ...] = ("darwinian", "lamarckian")

ScalarRule = Callable[
    [
        float,
        Sequence[float],
        Sequence[float],
        Sequence[float],
        Sequence[Sequence[float]],
        "float | None",
        Sequence[float],
        float,
    ],
    "tuple[list[float], float | None]",
]
VectorRule = Callable[
    [Array, Array, Array, Array, Array, "Array | None", "Array | None", Array],
    "tuple[Array, Array | None]",
]


@dataclass(frozen=True)
class PlasticityRule:
    """A registered rule: scalar and batch forms, and how many parameters it needs.

    The batch form takes ``m (E,)``, ``neural_params (E, n_neural)``, ``inputs (E, K)``,
    ``weights (E, K)``, ``weight_params (E, K, n_weight)``, ``bias (E,)`` or ``None``,
    ``bias_params (E, n_weight)`` or ``None`` and ``output (E,)``; it returns new weights and bias.
    """

    name: str
    scalar: ScalarRule
    vector: VectorRule
    n_neural: int
    n_weight: int


PLASTICITY: Registry[PlasticityRule] = Registry("plasticity rule")


def register_plasticity(
    name: str,
    scalar: ScalarRule,
    vector: VectorRule | None = None,
    *,
    n_neural: int = 0,
    n_weight: int = 0,
    replace: bool = False,
) -> PlasticityRule:
    """Register a rule. Without ``vector`` the batch path loops over the scalar form."""
    check_arity(scalar, 8, f"plasticity rule {name!r}")
    if vector is None:
        vector = loop_vector(scalar)
    else:
        check_arity(vector, 8, f"plasticity rule {name!r} (vector form)")
    rule = PlasticityRule(name, scalar, vector, n_neural, n_weight)
    return PLASTICITY.add(name, rule, replace=replace)


def plasticity(name: str) -> PlasticityRule:
    return PLASTICITY.get(name)


def loop_vector(fn: ScalarRule) -> VectorRule:
    """The batch form of a scalar rule, looping over the rows (exact, slow)."""

    def vector(
        m: Array,
        npar: Array,
        x: Array,
        w: Array,
        wp: Array,
        bias: Array | None,
        bp: Array | None,
        o: Array,
    ) -> tuple[Array, Array | None]:
        w2 = np.empty_like(w)
        b2 = None if bias is None else np.empty_like(bias)
        for e in range(w.shape[0]):
            nw, nb = fn(
                float(m[e]),
                npar[e].tolist(),
                x[e].tolist(),
                w[e].tolist(),
                wp[e].tolist(),
                None if bias is None else float(bias[e]),
                [] if bp is None else bp[e].tolist(),
                float(o[e]),
            )
            w2[e] = nw
            if b2 is not None:
                b2[e] = nb
        return w2, b2

    return vector


def _sat(v: float) -> float:
    return SAT_LIMIT if v > SAT_LIMIT else (-SAT_LIMIT if v < -SAT_LIMIT else v)


def _vsat(v: Array) -> Array:
    return np.clip(v, -SAT_LIMIT, SAT_LIMIT)


def scale_dzone(val: float, threshold: float = 0.33, max_magnitude: float = SAT_LIMIT) -> float:
    """plasticity.erl ``scale_dzone/3``: 0 inside ±threshold, else rescaled to (0, max]."""

    def scale(v: float, hi: float, lo: float) -> float:
        return 0.0 if hi == lo else (v * 2 - (hi + lo)) / (hi - lo)

    if val > threshold:
        return (scale(val, max_magnitude, threshold) + 1) * max_magnitude / 2
    if val < -threshold:
        return (scale(val, -threshold, -max_magnitude) - 1) * max_magnitude / 2
    return 0.0


def _v_scale_dzone(val: Array) -> Array:
    t, mx = 0.33, SAT_LIMIT
    up = ((val * 2 - (mx + t)) / (mx - t) + 1) * mx / 2
    down = ((val * 2 - (-t - mx)) / (-t + mx) - 1) * mx / 2
    return np.where(val > t, up, np.where(val < -t, down, 0.0))


# --------------------------------------------------------------------------- scalar rules

Seq = Sequence[float]


def _none(
    m: float, npar: Seq, x: Seq, w: Seq, wp: Sequence[Seq], b: float | None, bp: Seq, o: float
) -> tuple[list[float], float | None]:
    return list(w), b


def _hebbian(
    m: float, npar: Seq, x: Seq, w: Seq, wp: Sequence[Seq], b: float | None, bp: Seq, o: float
) -> tuple[list[float], float | None]:
    h = npar[0]
    return [_sat(wk + h * i * o) for i, wk in zip(x, w, strict=True)], b


def _hebbian_w(
    m: float, npar: Seq, x: Seq, w: Seq, wp: Sequence[Seq], b: float | None, bp: Seq, o: float
) -> tuple[list[float], float | None]:
    return [_sat(wk + p[0] * i * o) for i, wk, p in zip(x, w, wp, strict=True)], b


def _ojas(
    m: float, npar: Seq, x: Seq, w: Seq, wp: Sequence[Seq], b: float | None, bp: Seq, o: float
) -> tuple[list[float], float | None]:
    h = npar[0]
    return [_sat(wk + h * o * (i - o * wk)) for i, wk in zip(x, w, strict=True)], b


def _ojas_w(
    m: float, npar: Seq, x: Seq, w: Seq, wp: Sequence[Seq], b: float | None, bp: Seq, o: float
) -> tuple[list[float], float | None]:
    return [_sat(wk + p[0] * o * (i - o * wk)) for i, wk, p in zip(x, w, wp, strict=True)], b


def _genheb(
    h: float, a: float, bb: float, c: float, d: float, x: Seq, w: Seq, b: float | None, o: float
) -> tuple[list[float], float | None]:
    nw = [_sat(wk + h * (a * i * o + bb * i + c * o + d)) for i, wk in zip(x, w, strict=True)]
    nb = None if b is None else _sat(b + h * (a * 1 * o + bb * 1 + c * o + d))
    return nw, nb


def _neuromodulation(
    m: float, npar: Seq, x: Seq, w: Seq, wp: Sequence[Seq], b: float | None, bp: Seq, o: float
) -> tuple[list[float], float | None]:
    h, a, bb, c, d = npar
    return _genheb(scale_dzone(m) * h, a, bb, c, d, x, w, b, o)


def _self_dots(x: Seq, wp: Sequence[Seq], b: float | None, bp: Seq, n: int) -> list[float]:
    """tanh(Σ I·P_w[j] + P_bias[j]) for the first n learning parameters (plasticity.erl dotV*)."""
    out = []
    for j in range(n):
        acc = 0.0
        for i, p in zip(x, wp, strict=True):
            acc = i * p[j] + acc
        if b is not None:
            acc = acc + bp[j]
        out.append(math.tanh(acc))
    return out


def _self_mod_v1(
    m: float, npar: Seq, x: Seq, w: Seq, wp: Sequence[Seq], b: float | None, bp: Seq, o: float
) -> tuple[list[float], float | None]:
    (h,) = _self_dots(x, wp, b, bp, 1)
    a, bb, c, d = npar
    return _genheb(h, a, bb, c, d, x, w, b, o)


def _self_mod_v4(
    m: float, npar: Seq, x: Seq, w: Seq, wp: Sequence[Seq], b: float | None, bp: Seq, o: float
) -> tuple[list[float], float | None]:
    h, a = _self_dots(x, wp, b, bp, 2)
    bb, c, d = npar
    return _genheb(h, a, bb, c, d, x, w, b, o)


def _self_mod_v6(
    m: float, npar: Seq, x: Seq, w: Seq, wp: Sequence[Seq], b: float | None, bp: Seq, o: float
) -> tuple[list[float], float | None]:
    h, a, bb, c, d = _self_dots(x, wp, b, bp, 5)
    return _genheb(h, a, bb, c, d, x, w, b, o)


# --------------------------------------------------------------------------- vector rules

OptA = Array | None


def _v_none(
    m: Array, npar: Array, x: Array, w: Array, wp: Array, b: OptA, bp: OptA, o: Array
) -> tuple[Array, OptA]:
    return w, b


def _v_hebbian(
    m: Array, npar: Array, x: Array, w: Array, wp: Array, b: OptA, bp: OptA, o: Array
) -> tuple[Array, OptA]:
    return _vsat(w + npar[:, :1] * x * o[:, None]), b


def _v_hebbian_w(
    m: Array, npar: Array, x: Array, w: Array, wp: Array, b: OptA, bp: OptA, o: Array
) -> tuple[Array, OptA]:
    return _vsat(w + wp[:, :, 0] * x * o[:, None]), b


def _v_ojas(
    m: Array, npar: Array, x: Array, w: Array, wp: Array, b: OptA, bp: OptA, o: Array
) -> tuple[Array, OptA]:
    oo = o[:, None]
    return _vsat(w + npar[:, :1] * oo * (x - oo * w)), b


def _v_ojas_w(
    m: Array, npar: Array, x: Array, w: Array, wp: Array, b: OptA, bp: OptA, o: Array
) -> tuple[Array, OptA]:
    oo = o[:, None]
    return _vsat(w + wp[:, :, 0] * oo * (x - oo * w)), b


def _v_genheb(
    h: Array, a: Array, bb: Array, c: Array, d: Array, x: Array, w: Array, b: OptA, o: Array
) -> tuple[Array, OptA]:
    col = (h, a, bb, c, d)
    H, A, B, C, D = (v[:, None] for v in col)
    oo = o[:, None]
    nw = _vsat(w + H * (A * x * oo + B * x + C * oo + D))
    nb = None if b is None else _vsat(b + h * (a * 1 * o + bb * 1 + c * o + d))
    return nw, nb


def _v_neuromodulation(
    m: Array, npar: Array, x: Array, w: Array, wp: Array, b: OptA, bp: OptA, o: Array
) -> tuple[Array, OptA]:
    h = _v_scale_dzone(m) * npar[:, 0]
    return _v_genheb(h, npar[:, 1], npar[:, 2], npar[:, 3], npar[:, 4], x, w, b, o)


def _v_self_dots(x: Array, wp: Array, b: OptA, bp: OptA, n: int) -> list[Array]:
    out = []
    for j in range(n):
        acc: Array | float = 0.0
        for k in range(x.shape[1]):
            acc = x[:, k] * wp[:, k, j] + acc
        if b is not None and bp is not None:
            acc = acc + bp[:, j]
        out.append(np.tanh(np.broadcast_to(acc, (x.shape[0],))))
    return out


def _v_self_mod_v1(
    m: Array, npar: Array, x: Array, w: Array, wp: Array, b: OptA, bp: OptA, o: Array
) -> tuple[Array, OptA]:
    (h,) = _v_self_dots(x, wp, b, bp, 1)
    return _v_genheb(h, npar[:, 0], npar[:, 1], npar[:, 2], npar[:, 3], x, w, b, o)


def _v_self_mod_v4(
    m: Array, npar: Array, x: Array, w: Array, wp: Array, b: OptA, bp: OptA, o: Array
) -> tuple[Array, OptA]:
    h, a = _v_self_dots(x, wp, b, bp, 2)
    return _v_genheb(h, a, npar[:, 0], npar[:, 1], npar[:, 2], x, w, b, o)


def _v_self_mod_v6(
    m: Array, npar: Array, x: Array, w: Array, wp: Array, b: OptA, bp: OptA, o: Array
) -> tuple[Array, OptA]:
    h, a, bb, c, d = _v_self_dots(x, wp, b, bp, 5)
    return _v_genheb(h, a, bb, c, d, x, w, b, o)


for _name, _s, _v, _nn, _nw in (
    ("none", _none, _v_none, 0, 0),
    ("hebbian", _hebbian, _v_hebbian, 1, 0),
    ("hebbian_w", _hebbian_w, _v_hebbian_w, 0, 1),
    ("ojas", _ojas, _v_ojas, 1, 0),
    ("ojas_w", _ojas_w, _v_ojas_w, 0, 1),
    ("neuromodulation", _neuromodulation, _v_neuromodulation, 5, 0),
    ("self_modulationV1", _self_mod_v1, _v_self_mod_v1, 4, 1),
    ("self_modulationV2", _self_mod_v1, _v_self_mod_v1, 4, 1),
    ("self_modulationV3", _self_mod_v1, _v_self_mod_v1, 4, 1),
    ("self_modulationV4", _self_mod_v4, _v_self_mod_v4, 3, 2),
    ("self_modulationV5", _self_mod_v4, _v_self_mod_v4, 3, 2),
    ("self_modulationV6", _self_mod_v6, _v_self_mod_v6, 0, 5),
):
    PLASTICITY.add(_name, PlasticityRule(_name, _s, _v, _nn, _nw))
