"""Cart with one or two poles: Wieland's equations, RK4, as in the NEAT/ESP experiments.

State vector ``[x, x_dot, theta1, theta1_dot, theta2, theta2_dot]`` (``theta2`` terms absent for
one pole); angles in radians from vertical; SI units. Equations (Wieland 1991; NEAT's
``cartpole.cpp``), for each pole i with mass m_i, half-length l_i::

    f_i  = m_i l_i th_i'^2 sin(th_i) + 3/4 m_i cos(th_i) (mu_p th_i'/(m_i l_i) + g sin(th_i))
    mt_i = m_i (1 - 3/4 cos^2(th_i))
    x''  = (F - mu_c sgn(x') + sum f_i) / (M + sum mt_i)
    th_i'' = -3/(4 l_i) (x'' cos(th_i) + g sin(th_i) + mu_p th_i'/(m_i l_i))

with g = -9.8 (NEAT's sign convention). These are the exact Lagrangian equations of a cart with
uniform rods hinged on it, so with no force and no friction the energy is conserved.

Choices (see ``docs/morphologies.md``): no cart friction by default (``mu_c = 0``, NEAT's
equations; DXNN2 uses 5e-4: set ``mu_c``); hinge friction ``mu_p = 2e-6``; classic fourth-order
Runge-Kutta with step 0.01 s, two steps per network decision. :func:`rk4_step` works on one state
(pure Python, fast for one episode) and :func:`rk4_step_batch` on an ``(N, dim)`` array (numpy).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = ["CartPolePhysics", "derivatives", "derivatives_batch", "rk4_step", "rk4_step_batch"]

Array = npt.NDArray[np.float64]


@dataclass(frozen=True)
class CartPolePhysics:
    """Physical constants (defaults: NEAT's double-pole constants, no cart friction)."""

    poles: int = 2
    gravity: float = -9.8
    cart_mass: float = 1.0
    pole_masses: tuple[float, float] = (0.1, 0.01)
    half_lengths: tuple[float, float] = (0.5, 0.05)
    mu_p: float = 0.000002
    mu_c: float = 0.0
    tau: float = 0.01

    def __post_init__(self) -> None:
        if self.poles not in (1, 2):
            raise ValueError("poles must be 1 or 2")

    @property
    def dim(self) -> int:
        return 2 + 2 * self.poles


def _sgn(v: float) -> float:
    return 1.0 if v > 0 else (-1.0 if v < 0 else 0.0)


def derivatives(p: CartPolePhysics, s: Sequence[float], force: float) -> list[float]:
    """Time derivative of state ``s`` under horizontal ``force`` (N)."""
    g = p.gravity
    num = force - p.mu_c * _sgn(s[1])
    den = p.cart_mass
    trig = []
    for i in range(p.poles):
        th, thd = s[2 + 2 * i], s[3 + 2 * i]
        m, half = p.pole_masses[i], p.half_lengths[i]
        ml = half * m
        cos_t, sin_t = math.cos(th), math.sin(th)
        temp = p.mu_p * thd / ml
        num += ml * thd * thd * sin_t + 0.75 * m * cos_t * (temp + g * sin_t)
        den += m * (1 - 0.75 * cos_t * cos_t)
        trig.append((cos_t, g * sin_t, temp, half))
    xacc = num / den
    out = [s[1], xacc]
    for i, (cos_t, gsin, temp, half) in enumerate(trig):
        out.append(s[3 + 2 * i])
        out.append(-0.75 * (xacc * cos_t + gsin + temp) / half)
    return out


def rk4_step(p: CartPolePhysics, s: Sequence[float], force: float) -> list[float]:
    """One classic RK4 step of length ``p.tau``."""
    h = p.tau
    k1 = derivatives(p, s, force)
    k2 = derivatives(p, [a + 0.5 * h * b for a, b in zip(s, k1, strict=True)], force)
    k3 = derivatives(p, [a + 0.5 * h * b for a, b in zip(s, k2, strict=True)], force)
    k4 = derivatives(p, [a + h * b for a, b in zip(s, k3, strict=True)], force)
    return [
        a + h / 6.0 * (b1 + 2.0 * b2 + 2.0 * b3 + b4)
        for a, b1, b2, b3, b4 in zip(s, k1, k2, k3, k4, strict=True)
    ]


def derivatives_batch(p: CartPolePhysics, s: Array, force: Array) -> Array:
    """:func:`derivatives` for ``(N, dim)`` states and ``(N,)`` forces."""
    g = p.gravity
    num = force - p.mu_c * np.sign(s[:, 1])
    den = np.full(s.shape[0], p.cart_mass)
    parts = []
    for i in range(p.poles):
        th, thd = s[:, 2 + 2 * i], s[:, 3 + 2 * i]
        m, half = p.pole_masses[i], p.half_lengths[i]
        ml = half * m
        cos_t, sin_t = np.cos(th), np.sin(th)
        temp = p.mu_p * thd / ml
        num = num + (ml * thd * thd * sin_t + 0.75 * m * cos_t * (temp + g * sin_t))
        den = den + m * (1 - 0.75 * cos_t * cos_t)
        parts.append((cos_t, g * sin_t, temp, half))
    xacc = num / den
    out = np.empty_like(s)
    out[:, 0] = s[:, 1]
    out[:, 1] = xacc
    for i, (cos_t, gsin, temp, half) in enumerate(parts):
        out[:, 2 + 2 * i] = s[:, 3 + 2 * i]
        out[:, 3 + 2 * i] = -0.75 * (xacc * cos_t + gsin + temp) / half
    return out


def rk4_step_batch(p: CartPolePhysics, s: Array, force: Array) -> Array:
    """:func:`rk4_step` for ``(N, dim)`` states and ``(N,)`` forces."""
    h = p.tau
    k1 = derivatives_batch(p, s, force)
    k2 = derivatives_batch(p, s + 0.5 * h * k1, force)
    k3 = derivatives_batch(p, s + 0.5 * h * k2, force)
    k4 = derivatives_batch(p, s + h * k3, force)
    return s + h / 6.0 * (k1 + 2.0 * k2 + 2.0 * k3 + k4)
