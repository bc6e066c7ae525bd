"""The pde-lab command line: the JSON contract, files written, clear errors, light start-up."""

import json
import subprocess
import sys

import meshio
import pytest

from pde_lab.cli import problem_names

KEYS = {"problem", "solver", "device", "dtype", "wall_s", "peak_mem_mb", "iterations", "status", "rel_l2"}


def run(*args, check=True):
    result = subprocess.run([sys.executable, "-m", "pde_lab.cli", *args], capture_output=True, text=True, timeout=300)
    if check:
        assert result.returncode == 0, result.stderr
    return result


def test_list_names_problems_and_solvers():
    listing = json.loads(run("list", "--json").stdout)
    assert {"poisson", "poisson-lshape", "burgers"} <= set(listing["problems"])
    assert {"pinn", "fem"} <= set(listing["solvers"])
    assert "poisson" in run("list").stdout


def test_list_does_not_import_torch_or_deepxde():
    code = ("import sys; from pde_lab.cli import main; main(['list']); "
            "assert 'torch' not in sys.modules and 'deepxde' not in sys.modules, 'heavy import'")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_solve_fem_json_contract():
    record = json.loads(run("solve", "poisson", "--solver", "fem", "--set", "order=2", "--set", "h=0.1", "--json").stdout)
    assert KEYS <= set(record)
    assert record["problem"] == "poisson" and record["solver"] == "fem" and record["status"] == "converged"
    assert 0 < record["rel_l2"] < 1e-3 and record["iterations"] == 1


def test_solve_pinn_exports_and_plots(tmp_path):
    vtu, png = tmp_path / "out.vtu", tmp_path / "out.png"
    result = run("solve", "poisson", "--solver", "pinn", "--set", "adam_steps=30", "--set", "lbfgs_steps=0",
                 "--set", "n_interior=100", "--device", "cpu", "--dtype", "float64",
                 "--export", str(vtu), "--plot", str(png), "--json")
    record = json.loads(result.stdout)  # exactly one JSON object on stdout
    assert KEYS <= set(record) and record["device"] == "cpu" and record["dtype"] == "float64"
    assert record["iterations"] == 30 and record["status"] == "budget_exhausted" and record["rel_l2"] > 0
    assert "u" in meshio.read(vtu).point_data and png.stat().st_size > 10_000


def test_time_dependent_problem_without_reference_solver_reports_rel_l2(tmp_path):
    record = json.loads(run("solve", "burgers", "--set", "adam_steps=5", "--set", "lbfgs_steps=0",
                            "--set", "n_interior=64", "--param", "nu=0.05", "--export", str(tmp_path / "b.pvd"),
                            "--json").stdout)
    assert record["rel_l2"] is not None and (tmp_path / "b_0000.vtu").exists()


@pytest.mark.parametrize(
    "args, match",
    [
        (("solve", "heat-3d"), "unknown problem 'heat-3d'; known problems: " + ", ".join(problem_names())),
        (("solve", "poisson", "--solver", "fenics"), "unknown solver 'fenics'; known solvers:"),
        (("solve", "poisson", "--set", "widht=3"), "has no option"),
        (("solve", "poisson", "--set", "adam_steps"), "expects key=value"),
        (("solve", "burgers", "--param", "nu=-1"), "viscosity nu must be a positive"),
        (("solve", "burgers", "--param", "kappa=1"), "bad parameters for problem 'burgers'"),
        (("solve", "poisson", "--export", "out.stl"), "unsupported file extension '.stl'"),
        (("solve", "poisson", "--plot", "/no/such/folder/u.png"), "does not exist"),
    ],
)
def test_bad_input_gives_one_clear_line(args, match):
    result = run(*args, check=False)
    assert result.returncode == 2
    assert match in result.stderr and "Traceback" not in result.stderr
