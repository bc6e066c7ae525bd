"""The MAC projection cavity: divergence-free, converging to the Taylor–Hood reference."""

from __future__ import annotations

import math

import numpy as np
import pytest

from pde_lab.reference.navier_stokes_mac import _divergence, _project, cavity, pressure_solver
from problems.navier_stokes import cavity as cavity_problem


@pytest.fixture(scope="module")
def fem_velocity():
    reference = cavity_problem().reference()
    return lambda points: reference(points)[:, :2]


@pytest.mark.parametrize("name", ["cg", "amg"])
def test_projection_removes_the_divergence(name):
    """Random face velocities with zero wall flux: after one projection D u = 0 to solver tolerance."""
    n, h = 24, 1 / 24
    rng = np.random.default_rng(0)
    u, v = rng.standard_normal((n + 1, n)), rng.standard_normal((n, n + 1))
    u[[0, -1], :], v[:, [0, -1]] = 0.0, 0.0
    phi, iterations = pressure_solver(name, n, tol=1e-10)(-h * h * _divergence(u, v, h))
    u1, v1 = _project(u, v, phi, h)
    assert np.abs(_divergence(u1, v1, h)).max() < 1e-8 * np.abs(_divergence(u, v, h)).max()
    assert iterations > 0 and np.all(u1[[0, -1], :] == 0) and np.all(v1[:, [0, -1]] == 0)


def test_cavity_converges_to_the_taylor_hood_reference(fem_velocity):
    """Measured (Re = 100, steady): rel L2 of the cell-centre velocity 0.155 / 0.082 / 0.043 on
    16² / 32² / 64² -- first order, the lid's corner singularities dominate."""
    errors = []
    for n in (16, 32):
        result = cavity(n, pressure="amg", progress=False)
        assert result.stats["converged"] and result.stats["max_divergence"] < 1e-6
        reference = fem_velocity(result.centres())
        errors.append(np.linalg.norm(result.velocity_at_centres() - reference) / np.linalg.norm(reference))
    assert errors[1] < 0.09
    assert math.log2(errors[0] / errors[1]) > 0.8


def test_cavity_bad_inputs_are_clear_errors():
    with pytest.raises(ValueError, match="n must be"):
        cavity(2)
    with pytest.raises(ValueError, match="explicit stability"):
        cavity(16, dt=1.0)
    with pytest.raises(ValueError, match="'cg', 'amg' or 'dcdm'"):
        cavity(16, pressure="lu")
    with pytest.raises(ValueError, match="trained 2D DCDMNet"):
        cavity(16, pressure="dcdm")
