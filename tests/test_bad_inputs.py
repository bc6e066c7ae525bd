"""The robustness sweep: every bad input below gets a clear error at the API or CLI boundary
(the documented exception type and a message naming the problem) and leaves no file behind."""

import dataclasses
import math

import numpy as np
import pytest
import torch

from geometries import Disk, Interval, Rectangle
from pde_lab import Dirichlet, Periodic, Problem, compare, solve
from pde_lab.transport import Transport
from pde_lab.cli import main
from problems import burgers, poisson

TINY = dict(width=8, depth=1, n_interior=16, n_boundary=8, adam_steps=2, lbfgs_steps=0, dtype="float64",
            device="cpu", progress=False)


def _exact():
    return poisson().reference()


def _steady(**changes):
    base = dict(name="p", geometry=Rectangle((0, 0), (1, 1)), residual=lambda f, p: -f.lap("u") - 1.0,
                boundary_conditions=(Dirichlet(0.0),))
    return Problem(**{**base, **changes})


def _checkpoint(tmp, content=None, **settings):
    path = tmp / "run.ckpt"
    if content is not None:
        path.write_bytes(content)
    else:
        solve(poisson(), "pinn", checkpoint=str(path), **TINY)
    return solve(poisson(), "pinn", checkpoint=str(path), resume=True, **{**TINY, **settings})


CASES = {
    # geometries: degenerate, non-finite, empty
    "degenerate rectangle": (lambda tmp: Rectangle((0, 0), (0, 1)), ValueError, "lo < hi"),
    "negative radius": (lambda tmp: Disk((0, 0), -1.0), ValueError, "radius must be > 0"),
    "reversed interval": (lambda tmp: Interval(1.0, 0.0), ValueError, "a < b"),
    "NaN corner": (lambda tmp: Rectangle((0, 0), (math.nan, 1)), ValueError, "must be finite"),
    "zero samples": (lambda tmp: Rectangle((0, 0), (1, 1)).sample_interior(0), ValueError, "positive integer"),
    "zero mesh size": (lambda tmp: Rectangle((0, 0), (1, 1)).mesh(0.0), ValueError, "mesh size h"),
    "unmeshable CSG": (lambda tmp: (Rectangle((0, 0), (1, 1)) - Disk((0.5, 0.5), 0.2)).mesh(0.1), ValueError, "gmsh"),
    # problems: NaN/inf data, physics out of range, malformed definitions
    "NaN parameter": (lambda tmp: _steady(parameters={"k": math.nan}), ValueError, "finite"),
    "inf parameter array": (lambda tmp: _steady(parameters={"k": [1.0, math.inf]}), ValueError, "NaN or inf"),
    "negative viscosity": (lambda tmp: burgers(nu=-0.01), ValueError, "viscosity nu must be a positive"),
    "inverted time span": (lambda tmp: _steady(time_span=(1.0, 0.0)), ValueError, "t0 < t1"),
    "NaN boundary value": (lambda tmp: Dirichlet(math.nan), ValueError, "finite"),
    "negative periodic axis": (lambda tmp: Periodic(axis=-1), ValueError, "non-negative int"),
    "condition on unknown field": (lambda tmp: _steady(boundary_conditions=(Dirichlet(0.0, field="w"),)), ValueError,
                                   "names field 'w'"),
    "NaN initial data": (lambda tmp: solve(dataclasses.replace(burgers(), initial_condition=lambda x: x[:, 0] * math.nan),
                                           "pinn", **TINY), ValueError, "initial_condition returned NaN"),
    # residuals that would train on nothing or on the wrong thing
    "residual reduced over the points": (lambda tmp: solve(_steady(residual=lambda f, p: (f.lap("u") + 1).mean()),
                                                           "pinn", **TINY), ValueError, r"shape \(\) at 16 points"),
    "residual sliced": (lambda tmp: solve(_steady(residual=lambda f, p: f.lap("u")[:5]), "pinn", **TINY), ValueError,
                        r"has shape \(5,\) at 16 points; it must give one value per point"),
    "constant residual": (lambda tmp: solve(_steady(residual=lambda f, p: 1.0), "pinn", **TINY), ValueError,
                          "not a constant"),
    "residual through numpy": (lambda tmp: solve(_steady(residual=lambda f, p: (f.lap("u") + 1).detach().numpy()),
                                                 "pinn", **TINY), ValueError, "lost the network's gradient"),
    "rate of the wrong length": (lambda tmp: solve(dataclasses.replace(burgers(), rate=lambda f, p: f.u_xx[:-1]),
                                                   "pinn", **TINY), ValueError, "one value per point"),
    # solvers: unknown names and options, bad dtypes/devices/budgets
    "unknown solver": (lambda tmp: solve(poisson(), "fenics"), ValueError, "known solvers: "),
    "unknown option": (lambda tmp: solve(poisson(), "pinn", widht=3), TypeError, "has no option"),
    "not a problem": (lambda tmp: solve("poisson", "pinn"), TypeError, "expects a Problem"),
    "half precision": (lambda tmp: solve(poisson(), "pinn", **{**TINY, "dtype": "float16"}), ValueError, "float32"),
    "unknown device": (lambda tmp: solve(poisson(), "pinn", **{**TINY, "device": "tpu"}), ValueError, "invalid device"),
    "negative learning rate": (lambda tmp: solve(poisson(), "pinn", **{**TINY, "learning_rate": -1.0}), ValueError,
                               "learning_rate"),
    "negative resampling period": (lambda tmp: solve(poisson(), "pinn", **{**TINY, "resample_every": -1}), ValueError,
                                   "resample_every must be a non-negative int, got -1"),
    "switch given as a string": (lambda tmp: solve(poisson(), "pinn", **{**TINY, "residual_on_boundary": "no"}),
                                 ValueError, "residual_on_boundary must be True or False, got 'no'"),
    "causal switch given as a number": (lambda tmp: solve(burgers(), "causal", resample_initial=0), ValueError,
                                        "resample_initial must be True or False, got 0"),
    "negative damping": (lambda tmp: solve(poisson(), "pinn-ngd", damping=-1e-3, iterations=1, progress=False),
                         ValueError, "damping must be a non-negative finite number, got -0.001"),
    "NaN diffusion": (lambda tmp: Transport(velocity=lambda f, p: (f.u,), diffusion=math.nan), ValueError,
                      "Transport.diffusion must be a non-negative finite number, got nan"),
    "no collocation points": (lambda tmp: solve(poisson(), "pinn", **{**TINY, "n_interior": 0}), ValueError, "n_interior"),
    "FEM on a nonlinear PDE": (lambda tmp: solve(_steady(residual=lambda f, p: -f.lap("u") + f.u**2), "fem", h=0.5),
                               ValueError, "not linear"),
    "spectral without periodicity": (lambda tmp: solve(burgers(), "spectral"), ValueError, "Periodic conditions"),
    "compare with unknown solver": (lambda tmp: compare(poisson(), ["fem", "nope"]), ValueError, "unknown solver 'nope'"),
    # evaluation: shapes, dtypes, NaN points
    "points of wrong shape": (lambda tmp: _exact()(np.zeros((3, 3))), ValueError, r"shape \(n, 2\)"),
    "NaN points": (lambda tmp: _exact()(np.array([[math.nan, 0.0]])), ValueError, "NaN or inf"),
    "complex points": (lambda tmp: _exact()(torch.zeros(2, 2, dtype=torch.complex64)), TypeError, "real"),
    "string points": (lambda tmp: _exact()("points"), TypeError, "numpy array or torch tensor"),
    "reference of wrong type": (lambda tmp: _exact().error_vs(3.0), TypeError, "Solution or a callable"),
    # output paths
    "unsupported export extension": (lambda tmp: _exact().export(tmp / "u.vtk"), ValueError, "unsupported file extension"),
    "export into a missing folder": (lambda tmp: _exact().export(tmp / "no" / "u.vtu"), ValueError, "does not exist"),
    "steady solution to a time series": (lambda tmp: _exact().export(tmp / "u.pvd"), ValueError, "steady"),
    "unsupported figure extension": (lambda tmp: _exact().plot(tmp / "u.bmp"), ValueError, "unsupported file extension"),
    # checkpoints
    "corrupted checkpoint": (lambda tmp: _checkpoint(tmp, b"\x00garbage"), ValueError, "cannot read checkpoint"),
    "mismatched resume": (lambda tmp: _checkpoint(tmp, None, width=9), ValueError, "different run"),
    "resume without a checkpoint": (lambda tmp: solve(poisson(), "pinn", resume=True, **TINY), ValueError,
                                    "needs a checkpoint path"),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_input_is_refused_clearly_and_writes_nothing(name, tmp_path):
    action, error, match = CASES[name]
    before = set(tmp_path.iterdir())
    with pytest.raises(error, match=match):
        action(tmp_path)
    after = set(tmp_path.iterdir()) - {tmp_path / "run.ckpt"}  # checkpoint cases write theirs first on purpose
    assert after <= before, f"left files behind: {sorted(map(str, after - before))}"


CLI_CASES = {
    "unknown problem": (["solve", "heat-9d"], "unknown problem 'heat-9d'"),
    "option without value": (["solve", "poisson", "--set", "adam_steps"], "expects key=value"),
    "unknown problem parameter": (["solve", "burgers", "--param", "kappa=1"], "bad parameters for problem"),
    "negative viscosity": (["solve", "burgers", "--param", "nu=-1"], "viscosity nu must be a positive"),
    "unknown benchmark": (["bench", "navier"], "unknown benchmark 'navier'"),
    "bad export path": (["solve", "poisson", "--export", "/no/such/dir/u.vtu"], "does not exist"),
}


@pytest.mark.parametrize("name", sorted(CLI_CASES))
def test_cli_bad_input_exits_2_with_one_line(name, capsys):
    argv, match = CLI_CASES[name]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert match in err and err.count("\n") == 1 and "Traceback" not in err


def test_the_sweep_is_at_least_thirty_cases():
    assert len(CASES) + len(CLI_CASES) >= 30
