"""Checkpoints: SIGTERM writes one and stops; resume ends bit for bit where an uninterrupted
run ends; corrupted or foreign checkpoints are refused with a clear error."""

import math
import os
import signal

import pytest
import torch

from geometries import Rectangle
from pde_lab import Dirichlet, Problem, Status, solve
from problems import burgers
from problems.diffusion_sorption import diffusion_sorption

SETTINGS = dict(width=12, depth=2, n_interior=80, n_boundary=40, adam_steps=40, lbfgs_steps=40,
                dtype="float64", device="cpu", progress=False, seed=3)


def _problem(kill_at=None):
    calls = {"n": 0}

    def residual(f, p):
        calls["n"] += 1
        if calls["n"] == kill_at:
            os.kill(os.getpid(), signal.SIGTERM)
        return -f.lap("u") - 1.0

    return Problem(name="poisson-ones", geometry=Rectangle((0, 0), (1, 1)), residual=residual,
                   boundary_conditions=(Dirichlet(0.0),))


@pytest.mark.parametrize("kill_at", [15, 50])  # during Adam, during the first L-BFGS chunk
def test_interrupted_and_resumed_run_equals_uninterrupted(tmp_path, kill_at):
    path = str(tmp_path / "run.ckpt")
    whole = solve(_problem(), "pinn", **SETTINGS)
    stopped = solve(_problem(kill_at), "pinn", checkpoint=path, **SETTINGS)
    assert stopped.status is Status.INTERRUPTED and "SIGTERM" in stopped.message and "resume" in stopped.message
    assert os.path.exists(path) and stopped.stats["iterations"] < 80
    resumed = solve(_problem(), "pinn", checkpoint=path, resume=True, **SETTINGS)
    assert resumed.status.ok and resumed.stats["iterations"] == whole.stats["iterations"]
    for a, b in zip(whole.model.parameters(), resumed.model.parameters(), strict=True):
        assert torch.equal(a, b)
    assert resumed.history["loss"] == whole.history["loss"]
    assert [p.name for p in tmp_path.iterdir()] == ["run.ckpt"]  # no temporary files left


def test_a_run_resumed_after_lbfgs_widened_it_to_float64_equals_the_uninterrupted_one(tmp_path):
    """float32 Adam on points redrawn every 10 steps, float64 L-BFGS; stopped during L-BFGS."""
    path, settings = str(tmp_path / "run.ckpt"), dict(SETTINGS, dtype="float32", lbfgs_dtype="float64",
                                                      resample_every=10)
    whole = solve(_problem(), "pinn", **settings)
    stopped = solve(_problem(kill_at=60), "pinn", checkpoint=path, **settings)
    assert stopped.status is Status.INTERRUPTED and 40 < stopped.stats["iterations"] < 80
    resumed = solve(_problem(), "pinn", checkpoint=path, resume=True, **settings)
    assert resumed.stats["solution_dtype"] == whole.stats["solution_dtype"] == "float64"
    assert resumed.history["loss"] == whole.history["loss"]
    for a, b in zip(whole.model.parameters(), resumed.model.parameters(), strict=True):
        assert a.dtype == torch.float64 and torch.equal(a, b)


def test_periodic_checkpoints_and_extending_the_budget(tmp_path):
    path = str(tmp_path / "run.ckpt")
    short = solve(_problem(), "pinn", checkpoint=path, checkpoint_every=10, **dict(SETTINGS, lbfgs_steps=0))
    longer = solve(_problem(), "pinn", checkpoint=path, resume=True, **dict(SETTINGS, adam_steps=60, lbfgs_steps=0))
    straight = solve(_problem(), "pinn", **dict(SETTINGS, adam_steps=60, lbfgs_steps=0))
    assert short.stats["iterations"] == 40 and longer.stats["iterations"] == 60
    assert longer.history["loss"] == straight.history["loss"]


def test_corrupted_and_foreign_checkpoints_are_refused(tmp_path):
    path = tmp_path / "run.ckpt"
    path.write_bytes(b"not a checkpoint at all")
    with pytest.raises(ValueError, match="cannot read checkpoint"):
        solve(_problem(), "pinn", checkpoint=str(path), resume=True, **SETTINGS)
    path.unlink()
    solve(_problem(), "pinn", checkpoint=str(path), **dict(SETTINGS, adam_steps=5, lbfgs_steps=0))
    with pytest.raises(ValueError, match="different run .*settings.*shapes"):
        solve(_problem(), "pinn", checkpoint=str(path), resume=True, **dict(SETTINGS, width=13))
    with pytest.raises(ValueError, match="folder .* does not exist"):
        solve(_problem(), "pinn", checkpoint=str(tmp_path / "nope" / "x.ckpt"), **SETTINGS)
    with pytest.raises(ValueError, match="needs a checkpoint path"):
        solve(_problem(), "pinn", resume=True, **SETTINGS)


def test_cli_resume_continues_a_checkpointed_run(tmp_path):
    import json
    import subprocess
    import sys

    path = tmp_path / "p.ckpt"
    base = [sys.executable, "-m", "pde_lab.cli", "solve", "poisson", "--set", "n_interior=64", "--set", "lbfgs_steps=0",
            "--dtype", "float64", "--checkpoint", str(path), "--json"]
    first = json.loads(subprocess.run(base + ["--set", "adam_steps=10"], capture_output=True, text=True).stdout)
    second = json.loads(subprocess.run(base + ["--set", "adam_steps=25", "--resume"], capture_output=True, text=True).stdout)
    assert first["iterations"] == 10 and second["iterations"] == 25 and path.exists()


def _terminate_at(monkeypatch, owner, name: str, call: int) -> None:
    """Replace ``owner.name`` (a loss function or method) by one that sends SIGTERM to this process at
    its ``call``-th call."""
    original, calls = getattr(owner, name), {"n": 0}

    def counted(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == call:
            os.kill(os.getpid(), signal.SIGTERM)
        return original(*args, **kwargs)

    monkeypatch.setattr(owner, name, counted)


def _sorption_member(seed: int):
    return diffusion_sorption(seed=1000 + seed)


RESUMABLE = {  # solver: (problem, options, "module[:class]" and the loss function to stop in)
    # resampled points in Adam: resumed in L-BFGS, the run must go on with the last Adam block's points
    "pinn": (_problem, dict(SETTINGS, resample_every=7), "pde_lab.collocation", "loss_terms"),
    "pig": (_problem, dict(n_gaussians=12, adam_steps=30, lbfgs_steps=30, n_interior=60, n_boundary=40,
                           resample_every=7, lbfgs_resample_every=10, device="cpu", progress=False, seed=1),
            "pde_lab.collocation", "loss_terms"),
    "lpinn": (burgers, dict(
        n_labels=12, n_times=6, state_width=8, state_depth=2, characteristics_width=8, characteristics_depth=1,
        adam_steps=30, lbfgs_steps=30, n_eval_labels=64, device="cpu", progress=False, seed=1),
        "pde_lab.solvers.lagrangian", "lagrangian_loss_terms"),
    # its generator picks the instances and each step's rows: its state is part of the checkpoint; up to 12
    # LM iterations, so that their count varies from step to step (measured mean 10.9; 9.7 over the last 6 steps)
    "hc-moe": (lambda: diffusion_sorption(seed=5),
               dict(grid=(17, 11), basis=6, constraint_points=20, batch=2, steps=50, train_instances=4, width=12,
                    depth=2, sensors=2, backbone="mlp", family=_sorption_member, lm_iterations=12, device="cpu",
                    progress=False), "pde_lab.hard_constraints.moe:Experts", "blended_terms"),
}


@pytest.mark.parametrize("solver", RESUMABLE)
@pytest.mark.parametrize("kill_at", [20, 45])  # during Adam; during L-BFGS (hc-moe: Adam only, 50 steps)
def test_training_loop_solvers_resume_bit_for_bit(tmp_path, monkeypatch, solver, kill_at):
    import importlib

    make, options, where, name = RESUMABLE[solver]
    module, _, attribute = where.partition(":")
    owner = importlib.import_module(module)
    owner = getattr(owner, attribute) if attribute else owner
    whole = solve(make(), solver, **options)
    path = str(tmp_path / "run.ckpt")
    with monkeypatch.context() as patch:
        _terminate_at(patch, owner, name, kill_at)
        stopped = solve(make(), solver, checkpoint=path, **options)
    assert stopped.status is Status.INTERRUPTED, stopped.message
    resumed = solve(make(), solver, checkpoint=path, resume=True, **options)
    assert resumed.stats["iterations"] == whole.stats["iterations"]
    assert resumed.history["loss"] == whole.history["loss"]
    assert resumed.history == whole.history  # every recorded term (hc-moe: its LM iterations per step too)
    if solver == "hc-moe":
        assert resumed.stats["mean_lm_iterations"] == whole.stats["mean_lm_iterations"]
    networks = [getattr(s.model, "network", s.model) for s in (whole, resumed)]  # hc-moe: its basis network
    for a, b in zip(*(n.parameters() for n in networks), strict=True):
        assert torch.equal(a, b)


def test_observed_values_are_recorded_with_each_loss_and_kept_by_a_checkpoint(tmp_path):
    """``train(observe=...)`` appends one value per recorded loss (each Adam step, each L-BFGS
    chunk), and a resumed run's history holds the values of the steps before the stop."""
    from pde_lab.checkpoint import Checkpointing
    from pde_lab.training import train

    def run(stop_after: int | None, resume: bool):
        weight = torch.nn.Parameter(torch.tensor([3.0, -2.0], dtype=torch.float64))
        calls = [0]

        def terms():
            calls[0] += 1
            if calls[0] == stop_after:
                os.kill(os.getpid(), signal.SIGTERM)
            return {"square": (weight - 1.0).square().sum()}

        checkpoint = Checkpointing(str(tmp_path / "observe.ckpt"), every=5, resume=resume)
        return train([weight], terms, adam_steps=12, lbfgs_steps=0, learning_rate=0.1, progress=False,
                     checkpoint=checkpoint, observe=lambda: {"distance": float((weight.detach() - 1.0).norm())})

    whole = run(None, False)
    assert len(whole.history["distance"]) == len(whole.history["loss"]) == 12
    # the distance observed after each loss is the square root of that loss: recorded at the same step
    assert whole.history["distance"] == pytest.approx([math.sqrt(v) for v in whole.history["loss"]], rel=1e-12)
    stopped = run(8, False)
    assert stopped.status is Status.INTERRUPTED
    resumed = run(None, True)
    assert resumed.history == whole.history
