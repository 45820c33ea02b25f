"""Plasticity rules: hand-computed updates from plasticity.erl, vector forms, registry."""

from __future__ import annotations

import math

import numpy as np
import pytest

from actors.neural.errors import RegistryError
from actors.neural.plasticity import (
    PLASTICITY,
    SAT_LIMIT,
    plasticity,
    register_plasticity,
    scale_dzone,
)

X = [0.5, -1.0]
W = [0.2, 0.4]
OUT = 0.6


def test_none_keeps_weights() -> None:
    assert plasticity("none").scalar(0.0, [], X, W, [(), ()], 0.3, [], OUT) == (W, 0.3)


def test_hebbian() -> None:
    w, b = plasticity("hebbian").scalar(0.0, [0.1], X, W, [(), ()], 0.3, [], OUT)
    assert w == pytest.approx([0.2 + 0.1 * 0.5 * 0.6, 0.4 + 0.1 * -1.0 * 0.6])
    assert b == 0.3  # the bias is not adapted


def test_hebbian_w_per_weight_rate() -> None:
    w, b = plasticity("hebbian_w").scalar(0.0, [], X, W, [(0.1,), (-0.2,)], 0.3, [0.5], OUT)
    assert w == pytest.approx([0.2 + 0.1 * 0.5 * 0.6, 0.4 - 0.2 * -1.0 * 0.6])
    assert b == 0.3


def test_ojas() -> None:
    w, _ = plasticity("ojas").scalar(0.0, [0.1], X, W, [(), ()], None, [], OUT)
    assert w == pytest.approx(
        [0.2 + 0.1 * OUT * (0.5 - OUT * 0.2), 0.4 + 0.1 * OUT * (-1.0 - OUT * 0.4)]
    )


def test_ojas_w() -> None:
    w, _ = plasticity("ojas_w").scalar(0.0, [], X, W, [(0.1,), (0.3,)], None, [], OUT)
    assert w == pytest.approx(
        [0.2 + 0.1 * OUT * (0.5 - OUT * 0.2), 0.4 + 0.3 * OUT * (-1.0 - OUT * 0.4)]
    )


def test_saturation_at_two_pi() -> None:
    w, _ = plasticity("hebbian").scalar(
        0.0, [100.0], [1.0, -1.0], [6.0, -6.0], [(), ()], None, [], 1.0
    )
    assert w == [SAT_LIMIT, -SAT_LIMIT]


def genheb(w: float, h: float, a: float, b: float, c: float, d: float, i: float, o: float) -> float:
    return w + h * (a * i * o + b * i + c * o + d)


def test_neuromodulation_is_inert_without_modulation_and_scales_with_it() -> None:
    rule = plasticity("neuromodulation")
    p = [0.5, 0.1, 0.2, 0.3, 0.4]
    assert rule.scalar(0.0, p, X, W, [(), ()], 0.3, [], OUT) == (W, 0.3)
    m = 0.8
    mod = scale_dzone(m)
    w, b = rule.scalar(m, p, X, W, [(), ()], 0.3, [], OUT)
    assert w == pytest.approx(
        [genheb(W[k], mod * 0.5, 0.1, 0.2, 0.3, 0.4, X[k], OUT) for k in range(2)]
    )
    assert b == pytest.approx(genheb(0.3, mod * 0.5, 0.1, 0.2, 0.3, 0.4, 1.0, OUT))


def test_scale_dzone() -> None:
    assert scale_dzone(0.2) == 0.0
    assert scale_dzone(-0.33) == 0.0
    assert scale_dzone(SAT_LIMIT) == pytest.approx(SAT_LIMIT)
    assert scale_dzone(-SAT_LIMIT) == pytest.approx(-SAT_LIMIT)
    assert scale_dzone(0.330001) == pytest.approx(0.0, abs=1e-5)


def test_self_modulation_v1() -> None:
    wp = [(0.3,), (0.7,)]
    h = math.tanh(0.5 * 0.3 + -1.0 * 0.7 + 0.2)  # bias H parameter 0.2
    for name in ("self_modulationV1", "self_modulationV2", "self_modulationV3"):
        w, b = plasticity(name).scalar(0.0, [0.1, 0.2, 0.3, 0.4], X, W, wp, 0.3, [0.2], OUT)
        assert w == pytest.approx(
            [genheb(W[k], h, 0.1, 0.2, 0.3, 0.4, X[k], OUT) for k in range(2)]
        )
        assert b == pytest.approx(genheb(0.3, h, 0.1, 0.2, 0.3, 0.4, 1.0, OUT))


def test_self_modulation_v4_without_bias() -> None:
    wp = [(0.3, -0.5), (0.7, 0.1)]
    h = math.tanh(0.5 * 0.3 - 0.7)
    a = math.tanh(0.5 * -0.5 - 0.1)
    for name in ("self_modulationV4", "self_modulationV5"):
        w, b = plasticity(name).scalar(0.0, [0.2, 0.3, 0.4], X, W, wp, None, [], OUT)
        assert w == pytest.approx([genheb(W[k], h, a, 0.2, 0.3, 0.4, X[k], OUT) for k in range(2)])
        assert b is None


def test_self_modulation_v6() -> None:
    wp = [(0.1, 0.2, 0.3, 0.4, 0.5), (-0.1, -0.2, 0.3, 0.1, 0.0)]
    bp = [0.05, 0.0, -0.1, 0.2, 0.3]
    hs = [math.tanh(0.5 * wp[0][j] - wp[1][j] + bp[j]) for j in range(5)]
    w, b = plasticity("self_modulationV6").scalar(0.0, [], X, W, wp, 0.3, bp, OUT)
    assert w == pytest.approx([genheb(W[k], *hs, X[k], OUT) for k in range(2)])
    assert b == pytest.approx(genheb(0.3, *hs, 1.0, OUT))


@pytest.mark.parametrize("name", sorted(PLASTICITY.names()))
def test_vector_form_agrees(name: str) -> None:
    rule = plasticity(name)
    rng = np.random.default_rng(7)
    e, k = 4, 3
    m = rng.uniform(-1, 1, e)
    npar = rng.uniform(-1, 1, (e, rule.n_neural))
    x = rng.uniform(-1, 1, (e, k))
    w = rng.uniform(-2, 2, (e, k))
    wp = rng.uniform(-1, 1, (e, k, rule.n_weight))
    bias = rng.uniform(-1, 1, e)
    bp = rng.uniform(-1, 1, (e, rule.n_weight))
    o = rng.uniform(-1, 1, e)
    got_w, got_b = rule.vector(m, npar, x, w, wp, bias, bp, o)
    for r in range(e):
        want_w, want_b = rule.scalar(
            float(m[r]), npar[r].tolist(), x[r].tolist(), w[r].tolist(), wp[r].tolist(),
            float(bias[r]), bp[r].tolist(), float(o[r]),
        )  # fmt: skip
        assert np.allclose(got_w[r], want_w, rtol=1e-12, atol=1e-14)
        assert got_b is not None and want_b is not None
        assert got_b[r] == pytest.approx(want_b, rel=1e-12, abs=1e-14)


def test_user_rule_checked_and_registered() -> None:
    with pytest.raises(RegistryError):
        register_plasticity("bad_rule", lambda a, b: ([], None))  # type: ignore[arg-type]

    def decay(m, npar, x, w, wp, b, bp, o):  # type: ignore[no-untyped-def]
        return [v * npar[0] for v in w], b

    rule = register_plasticity("test_decay", decay, n_neural=1, replace=True)
    nw, nb = rule.vector(
        np.zeros(1), np.array([[0.5]]), np.ones((1, 2)), np.array([[2.0, 4.0]]),
        np.zeros((1, 2, 0)), None, None, np.zeros(1),
    )  # fmt: skip
    assert nw.tolist() == [[1.0, 2.0]] and nb is None
