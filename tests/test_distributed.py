"""Data parallel on torch.distributed: 2 gloo processes follow the 1-process loss curve."""

import json
import subprocess
import sys

import numpy as np
import torch
import torch.multiprocessing as mp

from pde_lab import solve
from problems import burgers, poisson

SETTINGS = dict(width=16, depth=2, n_interior=128, n_boundary=64, n_initial=64, adam_steps=30, lbfgs_steps=10,
                dtype="float64", device="cpu", progress=False, seed=0)


def _worker(rank, world, init_file, result_file, problem_name, options=None):
    torch.distributed.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=world)
    try:
        problem = {"poisson": poisson, "burgers": burgers}[problem_name]()
        solution = solve(problem, "pinn", **{**SETTINGS, **(options or {})})
        if rank == 0:
            with open(result_file, "w") as handle:
                json.dump({"loss": solution.history["loss"], "world": solution.stats["world_size"],
                           "parameters": [p.detach().reshape(-1).tolist() for p in solution.model.parameters()]}, handle)
    finally:
        torch.distributed.destroy_process_group()


def _two_processes(tmp_path, name, options=None):
    result = tmp_path / "result.json"
    mp.spawn(_worker, args=(2, str(tmp_path / "init"), str(result), name, options), nprocs=2, join=True)
    return json.loads(result.read_text())


def test_two_gloo_processes_match_one_process(tmp_path):
    for name, make in (("poisson", poisson), ("burgers", burgers)):
        single = solve(make(), "pinn", **SETTINGS)
        double = _two_processes(tmp_path, name)
        assert double["world"] == 2 and single.stats["world_size"] == 1
        np.testing.assert_allclose(double["loss"], single.history["loss"], rtol=1e-8)
        for mine, theirs in zip(single.model.parameters(), double["parameters"], strict=True):
            np.testing.assert_allclose(mine.detach().reshape(-1).numpy(), theirs, rtol=1e-6, atol=1e-9)
        (tmp_path / "init").unlink(missing_ok=True)


def test_balanced_weights_and_float64_lbfgs_are_the_same_on_two_processes(tmp_path):
    """Grad-norm balancing takes the norms of the rank-averaged gradients, so both ranks hold one
    process's weights; lbfgs_dtype re-wraps the widened network in DDP."""
    for options, rtol in (({"loss_balance": "grad-norm", "balance_every": 5}, 1e-8),
                          ({"dtype": "float32", "lbfgs_dtype": "float64"}, 1e-4)):
        single = solve(burgers(), "pinn", **{**SETTINGS, **options})
        double = _two_processes(tmp_path, "burgers", options)
        np.testing.assert_allclose(double["loss"], single.history["loss"], rtol=rtol)
        (tmp_path / "init").unlink(missing_ok=True)


def test_cli_nproc_prints_one_report():
    out = subprocess.run([sys.executable, "-m", "pde_lab.cli", "solve", "poisson", "--nproc", "2", "--set", "adam_steps=5",
                          "--set", "lbfgs_steps=0", "--set", "n_interior=64", "--json"], capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr
    lines = [line for line in out.stdout.splitlines() if line.startswith("{")]
    assert len(lines) == 1 and json.loads(lines[0])["world_size"] == 2
