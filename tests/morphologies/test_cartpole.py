"""Cart-pole physics checked against physics, not against its own code."""

from __future__ import annotations

import math

import numpy as np
import pytest

from morphologies.cartpole import CartPolePhysics, rk4_step, rk4_step_batch

G_UP = 9.8


def energy(p: CartPolePhysics, s: list[float]) -> float:
    """Kinetic + potential energy of a cart with uniform rods (independent of the equations)."""
    x_dot = s[1]
    e = 0.5 * p.cart_mass * x_dot**2
    for i in range(p.poles):
        th, thd = s[2 + 2 * i], s[3 + 2 * i]
        m, half = p.pole_masses[i], p.half_lengths[i]
        vx = x_dot + half * math.cos(th) * thd  # velocity of the rod's centre
        vy = -half * math.sin(th) * thd
        e += 0.5 * m * (vx * vx + vy * vy) + 0.5 * (m * half * half / 3.0) * thd * thd
        e += m * G_UP * half * math.cos(th)
    return e


@pytest.mark.parametrize("poles", [1, 2])
def test_energy_is_conserved_without_force_or_friction(poles: int) -> None:
    p = CartPolePhysics(poles=poles, mu_p=0.0, mu_c=0.0)
    s = [0.1, 0.3, 0.2, -0.4, -0.05, 0.3][: p.dim]
    e0 = energy(p, s)
    for _ in range(50):  # 0.5 s
        s = rk4_step(p, s, 0.0)
    assert abs(s[2]) > 0.3  # the long pole has really moved
    assert energy(p, s) == pytest.approx(e0, rel=1e-6)


def test_friction_dissipates_energy() -> None:
    p = CartPolePhysics(poles=1, mu_p=0.01, mu_c=0.0)
    s = [0.0, 0.0, 0.2, 0.0]
    e0 = energy(p, s)
    for _ in range(50):
        s = rk4_step(p, s, 0.0)
    assert energy(p, s) < e0 - 1e-6


@pytest.mark.parametrize("mu_c", [0.0, 0.0005])
def test_mirrored_start_gives_mirrored_trajectory(mu_c: float) -> None:
    p = CartPolePhysics(mu_c=mu_c)
    s = [0.3, -0.2, 0.05, 0.1, -0.02, 0.3]
    m = [-v for v in s]
    for k in range(200):
        f = 7.0 * math.sin(0.1 * k)
        s, m = rk4_step(p, s, f), rk4_step(p, m, -f)
        assert np.allclose(m, [-v for v in s], rtol=0, atol=1e-12)


def mass_matrix_derivative(p: CartPolePhysics, y: np.ndarray, force: float) -> np.ndarray:
    """Lagrangian form M(q) q'' = f(q, q'), solved with numpy: an independent derivation."""
    q, qd = y[0::2], y[1::2]
    n = p.poles
    mm = np.zeros((n + 1, n + 1))
    rhs = np.zeros(n + 1)
    mm[0, 0] = p.cart_mass + sum(p.pole_masses[:n])
    rhs[0] = force - p.mu_c * np.sign(qd[0])
    for i in range(n):
        m, half = p.pole_masses[i], p.half_lengths[i]
        th, thd = q[i + 1], qd[i + 1]
        mm[0, i + 1] = mm[i + 1, 0] = m * half * math.cos(th)
        mm[i + 1, i + 1] = 4.0 / 3.0 * m * half * half
        rhs[0] += m * half * thd * thd * math.sin(th)
        rhs[i + 1] = m * G_UP * half * math.sin(th) - p.mu_p * thd
    qdd = np.linalg.solve(mm, rhs)
    out = np.empty_like(y)
    out[0::2], out[1::2] = qd, qdd
    return out


@pytest.mark.parametrize("poles", [1, 2])
def test_agrees_with_small_step_independent_integrator(poles: int) -> None:
    p = CartPolePhysics(poles=poles, mu_c=0.0005)
    s0 = [0.1, 0.0, 0.07, 0.0, 0.01, 0.0][: p.dim]
    s = list(s0)
    y = np.array(s0)
    dt = 1e-4
    for k in range(25):  # 25 decisions of 0.02 s (0.5 s), force held over each
        f = 5.0 * math.sin(0.3 * k)
        for _ in range(2):
            s = rk4_step(p, s, f)
        for _ in range(200):  # midpoint method, 200 x 1e-4 s
            mid = y + 0.5 * dt * mass_matrix_derivative(p, y, f)
            y = y + dt * mass_matrix_derivative(p, mid, f)
    assert abs(s[2] - s0[2]) > 0.05
    # the unbalanced short pole spins up to ~20 rad/s: compare relatively as well
    assert np.allclose(s, y, rtol=1e-5, atol=1e-6)


def test_batch_physics_equals_scalar() -> None:
    p = CartPolePhysics(mu_c=0.0005)
    rng = np.random.default_rng(0)
    states = rng.uniform(-0.3, 0.3, (7, 6))
    forces = rng.uniform(-10, 10, 7)
    got = rk4_step_batch(p, states, forces)
    for r in range(7):
        assert np.allclose(got[r], rk4_step(p, states[r].tolist(), float(forces[r])), atol=1e-13)


def test_one_or_two_poles_only() -> None:
    with pytest.raises(ValueError):
        CartPolePhysics(poles=3)
