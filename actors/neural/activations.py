"""Activation functions of DXNN2 (``functions.erl``), scalar and vectorised.

Every activation has a scalar form (``float -> float``, used by the reference evaluator and the
straight-line single-network path) and a numpy form (``ndarray -> ndarray``, element-wise, used by
the batch path). Both compute the same formula with the same constants as DXNN2:

* ``gaussian`` and ``sigmoid`` clip their argument to [-10, 10] and use the constant
  2.71828183 (not ``math.e``), as ``functions.erl`` does.
* ``sgn(0) = 0``; ``log(0) = 0``; ``sqrt``, ``log`` and ``quadratic`` are odd extensions
  (``sgn(v) * f(|v|)``).
* ``bip`` (bipolar step: 1 if v > 0 else -1) is not in ``functions.erl``; it completes the
  step family named by the issue.

After the activation the neuron saturates its output to [-1, 1] (``neuron.erl``'s
``OUTPUT_SAT_LIMIT``); :func:`saturate_output` does that. Activations whose range already lies in
[-1, 1] are registered with ``bounded=True`` so the compiled path can skip the clip.

Extend with :func:`register_activation`; the scalar function is checked to take one argument.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from actors.neural.registry import Registry, check_arity

__all__ = [
    "ACTIVATIONS",
    "OUTPUT_SAT_LIMIT",
    "Activation",
    "activation",
    "elementwise",
    "register_activation",
    "saturate_output",
]

Array = npt.NDArray[np.float64]

#: neuron.erl: every neuron output is saturated to [-OUTPUT_SAT_LIMIT, OUTPUT_SAT_LIMIT].
OUTPUT_SAT_LIMIT = 1.0
_E = 2.71828183  # functions.erl's constant for gaussian and sigmoid


@dataclass(frozen=True)
class Activation:
    """One registered activation function.

    ``scalar`` and ``vector`` must compute the same function; ``bounded`` promises the output is
    always within [-1, 1] (so the output saturation is a no-op).
    """

    name: str
    scalar: Callable[[float], float]
    vector: Callable[[Array], Array]
    bounded: bool = False


ACTIVATIONS: Registry[Activation] = Registry("activation")


def register_activation(
    name: str,
    scalar: Callable[[float], float],
    vector: Callable[[Array], Array] | None = None,
    *,
    bounded: bool = False,
    replace: bool = False,
) -> Activation:
    """Register an activation. Without ``vector`` the scalar form is applied element by element."""
    check_arity(scalar, 1, f"activation {name!r}")
    if vector is None:
        vector = elementwise(scalar)
    else:
        check_arity(vector, 1, f"activation {name!r} (vector form)")
    return ACTIVATIONS.add(name, Activation(name, scalar, vector, bounded), replace=replace)


def elementwise(scalar: Callable[[float], float]) -> Callable[[Array], Array]:
    """The scalar function applied element by element (bit-identical to it, and slow)."""
    ufunc = np.frompyfunc(scalar, 1, 1)

    def vector(x: Array) -> Array:
        return np.asarray(ufunc(x), dtype=np.float64)

    return vector


def activation(name: str) -> Activation:
    """Look up an activation by name (:class:`~actors.neural.errors.RegistryError` if unknown)."""
    return ACTIVATIONS.get(name)


def saturate_output(v: float) -> float:
    """neuron.erl ``sat(Val, -1, 1)``."""
    if v < -OUTPUT_SAT_LIMIT:
        return -OUTPUT_SAT_LIMIT
    if v > OUTPUT_SAT_LIMIT:
        return OUTPUT_SAT_LIMIT
    return v


# --------------------------------------------------------------------------- scalar forms


def _sgn(v: float) -> float:
    return 1.0 if v > 0 else (-1.0 if v < 0 else 0.0)


def _bin(v: float) -> float:
    return 1.0 if v > 0 else 0.0


def _bip(v: float) -> float:
    return 1.0 if v > 0 else -1.0


def _trinary(v: float) -> float:
    if -0.33 < v < 0.33:
        return 0.0
    return 1.0 if v >= 0.33 else -1.0


def _clip10(v: float) -> float:
    return 10.0 if v > 10 else (-10.0 if v < -10 else v)


def _gaussian(v: float) -> float:
    c = _clip10(v)
    return math.pow(_E, -c * c)


def _sigmoid(v: float) -> float:
    return 2.0 / (1.0 + math.pow(_E, -_clip10(v))) - 1.0


def _sigmoid1(v: float) -> float:
    return v / (1.0 + abs(v))


def _multiquadric(v: float) -> float:
    return math.pow(v * v + 0.01, 0.5)


def _quadratic(v: float) -> float:
    return _sgn(v) * v * v


def _sqrt(v: float) -> float:
    return _sgn(v) * math.sqrt(abs(v))


def _log(v: float) -> float:
    return 0.0 if v == 0 else _sgn(v) * math.log(abs(v))


def _linear(v: float) -> float:
    return v


# --------------------------------------------------------------------------- vector forms


def _v_sgn(x: Array) -> Array:
    return np.sign(x).astype(np.float64)


def _v_bin(x: Array) -> Array:
    return np.where(x > 0, 1.0, 0.0)


def _v_bip(x: Array) -> Array:
    return np.where(x > 0, 1.0, -1.0)


def _v_trinary(x: Array) -> Array:
    return np.where((x > -0.33) & (x < 0.33), 0.0, np.where(x >= 0.33, 1.0, -1.0))


def _v_gaussian(x: Array) -> Array:
    c = np.clip(x, -10.0, 10.0)
    return np.power(_E, -c * c)


def _v_sigmoid(x: Array) -> Array:
    return 2.0 / (1.0 + np.power(_E, -np.clip(x, -10.0, 10.0))) - 1.0


def _v_sigmoid1(x: Array) -> Array:
    return x / (1.0 + np.abs(x))


def _v_multiquadric(x: Array) -> Array:
    return np.power(x * x + 0.01, 0.5)


def _v_quadratic(x: Array) -> Array:
    return np.sign(x) * x * x


def _v_sqrt(x: Array) -> Array:
    return np.sign(x) * np.sqrt(np.abs(x))


def _v_log(x: Array) -> Array:
    a = np.abs(x)
    safe = np.where(a == 0, 1.0, a)
    return np.where(x == 0, 0.0, np.sign(x) * np.log(safe))


def _v_linear(x: Array) -> Array:
    return np.asarray(x, dtype=np.float64)


for _name, _s, _v, _b in (
    ("tanh", math.tanh, np.tanh, True),
    ("cos", math.cos, np.cos, True),
    ("sin", math.sin, np.sin, True),
    ("gaussian", _gaussian, _v_gaussian, True),
    ("sigmoid", _sigmoid, _v_sigmoid, True),
    ("sigmoid1", _sigmoid1, _v_sigmoid1, True),
    ("sgn", _sgn, _v_sgn, True),
    ("bin", _bin, _v_bin, True),
    ("bip", _bip, _v_bip, True),
    ("trinary", _trinary, _v_trinary, True),
    ("multiquadric", _multiquadric, _v_multiquadric, False),
    ("absolute", abs, np.abs, False),
    ("linear", _linear, _v_linear, False),
    ("quadratic", _quadratic, _v_quadratic, False),
    ("sqrt", _sqrt, _v_sqrt, False),
    ("log", _log, _v_log, False),
):
    ACTIVATIONS.add(_name, Activation(_name, _s, _v, _b))
