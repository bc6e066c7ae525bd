r"""Numerical evidence for the chemotaxis FEM references.

* Mass :math:`\int n` is conserved to round-off (relative drift <= 1e-8) on a square and a
  disk, for Keller–Segel and indirect signalling, P1 and P2.
* With :math:`\chi = 0` the n-equation is the Neumann heat equation:
  :math:`n = 1 + \delta\cos\pi x\cos\pi y\,e^{-2\pi^2 t}` exactly (and c = n when c0 = n0).
  P1 converges at spatial rate 2 in L2; the recorded min n follows the exact minimum.
* min n is recorded every step; P1's undershoot on a zero background shrinks with h.
* Time order against a dt-refined run: 1 for backward Euler, 2 for BDF2 (both systems).
* Spatially constant data reduce indirect signalling to linear ODEs with a closed form.
"""

from __future__ import annotations

import numpy as np
import pytest
from skfem import MeshLine, MeshTri

from pde_lab.reference.chemotaxis_fem import indirect_signalling, keller_segel
from pde_lab.reference.fem_tools import l2_error

DELTA = 0.5


def _square(n: int) -> MeshTri:
    return MeshTri.init_tensor(np.linspace(0, 1, n + 1), np.linspace(0, 1, n + 1))


def _cosine_mode(t: float):
    def field(x, y):
        return 1.0 + DELTA * np.cos(np.pi * x) * np.cos(np.pi * y) * np.exp(-2 * np.pi**2 * t)

    return field


def _bump(x, y):
    return 1.0 + 6.0 * np.exp(-20.0 * ((x - 0.2) ** 2 + y**2))


def _zero(x, y):
    return np.zeros_like(x)


def _slope(steps: np.ndarray, errors: np.ndarray) -> float:
    return float(np.polyfit(np.log(steps), np.log(errors), 1)[0])


@pytest.mark.parametrize("order", [1, 2])
@pytest.mark.parametrize("system", ["keller-segel", "indirect"])
@pytest.mark.parametrize("domain", ["square", "disk"])
def test_mass_is_conserved(domain, system, order):
    mesh = _square(16) if domain == "square" else MeshTri.init_circle(4)
    if domain == "square":
        n0 = lambda x, y: _bump(x - 0.5, y - 0.5)
    else:
        n0 = _bump
    if system == "keller-segel":
        result = keller_segel(mesh, n0, _zero, 5.0, 0.05, 1e-3, [0.05], order=order)
    else:
        result = indirect_signalling(
            mesh, n0, _zero, _zero, 0.1, 0.5, 0.05, 1e-3, [0.05], order=order, time_scheme="bdf2"
        )
    assert result.status == "success", result.message
    assert len(result.mass) == 51
    assert result.mass_drift <= 1e-8, result.mass_drift
    # positivity is reported at every time level
    assert result.min_n.shape == result.mass.shape
    assert np.all(result.min_n > 0.0), result.min_n.min()


def test_positivity_is_reported_and_undershoot_shrinks_with_refinement():
    """A bump on a zero background: the consistent mass matrix may undershoot below 0."""

    def n0(x, y):
        return 6.0 * np.exp(-20.0 * ((x - 0.2) ** 2 + y**2))

    undershoot = []
    for refinements in (4, 5):
        result = keller_segel(
            MeshTri.init_circle(refinements), n0, _zero, 5.0, 0.05, 1e-3, [0.0, 0.05]
        )
        saved_steps = np.rint(result.times / 1e-3).astype(int)
        np.testing.assert_allclose(result.min_n[saved_steps], result.fields["n"].min(axis=1))
        undershoot.append(max(0.0, -result.min_n.min()))
    assert undershoot[0] < 1e-6, undershoot
    assert undershoot[1] <= 0.1 * undershoot[0], undershoot


def test_heat_limit_spatial_rate_two_for_p1():
    t_final = 0.05
    exact = _cosine_mode(t_final)
    sizes, errors = [], []
    for n in (8, 16, 32):
        result = keller_segel(
            _square(n),
            _cosine_mode(0.0),
            _cosine_mode(0.0),
            0.0,
            t_final,
            1e-3,
            [t_final],
            time_scheme="bdf2",
        )
        errors.append(l2_error(result.basis, result.fields["n"][-1], exact))
        # with c0 = n0 the exact signal equals n
        c_error = l2_error(result.basis, result.fields["c"][-1], exact)
        assert abs(c_error - errors[-1]) <= 1e-3 * errors[-1] + 1e-12
        sizes.append(1.0 / n)
    rate = _slope(np.array(sizes), np.array(errors))
    assert abs(rate - 2.0) < 0.3, (rate, errors)


def test_heat_limit_min_n_and_point_evaluation():
    t_final = 0.05
    result = keller_segel(
        _square(32),
        _cosine_mode(0.0),
        _cosine_mode(0.0),
        0.0,
        t_final,
        1e-3,
        [0.0, 0.025, t_final],
        time_scheme="bdf2",
    )
    exact_min = 1.0 - DELTA * np.exp(-2 * np.pi**2 * result.step_times)
    assert np.max(np.abs(result.min_n - exact_min)) < 2e-3
    np.testing.assert_allclose(result.times, [0.0, 0.025, t_final])
    points = np.array([[0.1, 0.2], [0.5, 0.5], [0.73, 0.91]])
    for index, time in enumerate(result.times):
        values = result.evaluate("n", points, save_index=index)
        np.testing.assert_allclose(values, _cosine_mode(time)(*points.T), atol=2e-3)


def _n0(x, y):
    return 1.0 + 0.5 * np.cos(np.pi * x) * np.cos(np.pi * y)


def _c0(x, y):
    return 0.5 + 0.3 * np.cos(np.pi * x)


def _w0(x, y):
    return 0.5 + 0.3 * np.cos(np.pi * y)


@pytest.mark.parametrize("scheme, expected", [("backward-euler", 1.0), ("bdf2", 2.0)])
@pytest.mark.parametrize("system", ["keller-segel", "indirect"])
def test_time_order_against_refined_run(system, scheme, expected):
    mesh, t_final = _square(12), 0.1

    def run(n_steps: int):
        dt = t_final / n_steps
        if system == "keller-segel":
            return keller_segel(mesh, _n0, _c0, 3.0, t_final, dt, [t_final], time_scheme=scheme)
        return indirect_signalling(
            mesh, _n0, _c0, _w0, 1.0, 0.5, t_final, dt, [t_final], time_scheme=scheme
        )

    reference = run(640)
    steps, errors = [], []
    for n_steps in (10, 20, 40):
        difference = run(n_steps).fields["n"][-1] - reference.fields["n"][-1]
        errors.append(l2_error(reference.basis, difference, _zero))
        steps.append(t_final / n_steps)
    rate = _slope(np.array(steps), np.array(errors))
    assert abs(rate - expected) < 0.3, (rate, errors)


@pytest.mark.parametrize("scheme, expected", [("backward-euler", 1.0), ("bdf2", 2.0)])
def test_indirect_signalling_homogeneous_ode(scheme, expected):
    r"""Constant data: n = 1, eps w' = 1 - w, eps c' = w - c, solved in closed form."""
    eps, t_final, w_init, c_init = 0.2, 0.4, 3.0, -1.0
    s = t_final / eps
    w_exact = 1.0 + (w_init - 1.0) * np.exp(-s)
    c_exact = 1.0 + ((c_init - 1.0) + (w_init - 1.0) * s) * np.exp(-s)
    errors, steps = [], []
    for n_steps in (20, 40, 80):
        result = indirect_signalling(
            _square(2),
            lambda x, y: 1.0 + 0 * x,
            lambda x, y: c_init + 0 * x,
            lambda x, y: w_init + 0 * x,
            eps,
            0.3,
            t_final,
            t_final / n_steps,
            [t_final],
            time_scheme=scheme,
        )
        np.testing.assert_allclose(result.fields["n"][-1], 1.0, atol=1e-12)
        errors.append(
            max(
                np.max(np.abs(result.fields["w"][-1] - w_exact)),
                np.max(np.abs(result.fields["c"][-1] - c_exact)),
            )
        )
        steps.append(t_final / n_steps)
    assert abs(_slope(np.array(steps), np.array(errors)) - expected) < 0.3, errors


@pytest.mark.parametrize(
    "change, match",
    [
        ({"dt": 0.0}, "dt must be a positive finite number"),
        ({"dt": float("inf")}, "dt must be a positive finite number"),
        ({"t_final": -1.0}, "t_final must be a positive finite number"),
        ({"dt": 0.03}, "integer multiple"),
        ({"save_times": [0.015]}, "not an integer multiple of dt"),
        ({"save_times": [0.2]}, "must lie in"),
        ({"save_times": [0.1, 0.0]}, "non-decreasing"),
        ({"chi": -1.0}, "chi must be a non-negative finite number"),
        ({"chi": float("nan")}, "chi must be a non-negative finite number"),
        ({"order": 3}, "order must be 1 or 2"),
        ({"time_scheme": "rk4"}, "time_scheme"),
        ({"n0": lambda x, y: np.full_like(x, np.nan)}, "n0 returned NaN"),
    ],
)
def test_keller_segel_bad_input_is_a_value_error(change, match):
    arguments = {
        "mesh": _square(2),
        "n0": _n0,
        "c0": _c0,
        "chi": 1.0,
        "t_final": 0.1,
        "dt": 0.01,
        "save_times": [0.1],
        **change,
    }
    with pytest.raises(ValueError, match=match):
        keller_segel(**arguments)


def test_wrong_types_are_a_type_error():
    with pytest.raises(TypeError, match="c0 must be a callable"):
        keller_segel(_square(2), _n0, 1.0, 1.0, 0.1, 0.01, [0.1])
    with pytest.raises(TypeError, match="MeshTri or MeshQuad"):
        keller_segel(MeshLine(), _n0, _c0, 1.0, 0.1, 0.01, [0.1])


@pytest.mark.parametrize("change, match", [({"eps": 0.0}, "eps"), ({"tau": -1.0}, "tau")])
def test_indirect_signalling_bad_parameters(change, match):
    arguments = {
        "mesh": _square(2),
        "n0": _n0,
        "c0": _c0,
        "w0": _w0,
        "eps": 1.0,
        "tau": 1.0,
        "t_final": 0.1,
        "dt": 0.01,
        "save_times": [0.1],
        **change,
    }
    with pytest.raises(ValueError, match=match):
        indirect_signalling(**arguments)
