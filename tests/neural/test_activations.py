"""Activation functions: DXNN2's values, the vector forms, the registry."""

from __future__ import annotations

import math

import numpy as np
import pytest

from actors.neural.activations import (
    ACTIVATIONS,
    activation,
    register_activation,
    saturate_output,
)
from actors.neural.errors import RegistryError

# (name, input, expected) computed by hand from functions.erl
CASES = [
    ("tanh", 0.5, math.tanh(0.5)),
    ("cos", 1.0, math.cos(1.0)),
    ("sin", 1.0, math.sin(1.0)),
    ("gaussian", 0.0, 1.0),
    ("gaussian", 1.0, 1 / 2.71828183),
    ("gaussian", 50.0, 2.71828183**-100),  # argument clipped to 10
    ("sigmoid", 0.0, 0.0),
    ("sigmoid", 1.0, 2 / (1 + 2.71828183**-1) - 1),
    ("sigmoid", -99.0, 2 / (1 + 2.71828183**10) - 1),  # clipped to -10
    ("sigmoid1", 3.0, 0.75),
    ("sigmoid1", -1.0, -0.5),
    ("sgn", 2.0, 1.0),
    ("sgn", -0.1, -1.0),
    ("sgn", 0.0, 0.0),
    ("bin", 0.0, 0.0),
    ("bin", 0.2, 1.0),
    ("bip", 0.0, -1.0),
    ("bip", 0.2, 1.0),
    ("trinary", 0.32, 0.0),
    ("trinary", 0.33, 1.0),
    ("trinary", -0.33, -1.0),
    ("trinary", -0.329, 0.0),
    ("multiquadric", 0.0, 0.1),
    ("absolute", -0.7, 0.7),
    ("linear", -0.7, -0.7),
    ("quadratic", -0.5, -0.25),
    ("sqrt", -0.25, -0.5),
    ("log", 0.0, 0.0),
    ("log", -math.e, -1.0),
]


@pytest.mark.parametrize(("name", "x", "want"), CASES)
def test_scalar_values(name: str, x: float, want: float) -> None:
    assert activation(name).scalar(x) == pytest.approx(want, rel=1e-12, abs=1e-15)


@pytest.mark.parametrize("name", sorted(ACTIVATIONS.names()))
def test_vector_form_agrees_with_scalar(name: str) -> None:
    xs = np.concatenate([np.linspace(-12, 12, 241), [0.0, 0.33, -0.33, 1e-9]])
    act = activation(name)
    got = act.vector(xs)
    want = np.array([act.scalar(float(v)) for v in xs])
    assert got.shape == xs.shape
    assert np.allclose(got, want, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("name", sorted(ACTIVATIONS.names()))
def test_bounded_flag_is_true(name: str) -> None:
    act = activation(name)
    if act.bounded:
        ys = act.vector(np.linspace(-50, 50, 2001))
        assert np.all(np.abs(ys) <= 1.0)


def test_output_saturation() -> None:
    assert saturate_output(3.0) == 1.0
    assert saturate_output(-3.0) == -1.0
    assert saturate_output(0.25) == 0.25


def test_user_activation_registers_and_is_checked() -> None:
    with pytest.raises(RegistryError):
        register_activation("two_args", lambda a, b: a)  # type: ignore[arg-type, misc]
    with pytest.raises(RegistryError):
        register_activation("tanh", math.tanh)  # taken
    with pytest.raises(RegistryError):
        register_activation("not an identifier", math.tanh)
    act = register_activation("test_cube", lambda v: v * v * v, replace=True)
    assert act.vector(np.array([2.0, -1.0])).tolist() == [8.0, -1.0]
    assert "test_cube" in ACTIVATIONS
    with pytest.raises(RegistryError, match="unknown activation"):
        activation("no_such_function")
