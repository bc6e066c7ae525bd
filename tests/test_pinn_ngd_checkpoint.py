"""Checkpoints of pinn-ngd: SIGTERM mid-run writes one and stops; the resumed run ends bit for bit
where the uninterrupted run ends; cutting the run into checkpointed pieces changes nothing; a
foreign file is refused."""

from __future__ import annotations

import math
import os
import signal

import pytest
import torch

from geometries import Rectangle
from pde_lab import Dirichlet, Problem, Status, solve

SETTINGS = dict(width=8, depth=2, n_interior=64, n_boundary=32, iterations=30, device="cpu", progress=False, seed=1)


def _poisson(kill_at: int | None = None, calls: dict | None = None) -> Problem:
    """-Δu = 2π² sin(πx) sin(πy) on the unit square, u = 0; SIGTERM to this process at the
    ``kill_at``-th residual evaluation (counted in ``calls["n"]``)."""
    calls = {"n": 0} if calls is None else calls

    def residual(f, p):
        calls["n"] += 1
        if calls["n"] == kill_at:
            os.kill(os.getpid(), signal.SIGTERM)
        return -f.lap("u") - 2 * math.pi**2 * torch.sin(math.pi * f.x) * torch.sin(math.pi * f.y)

    return Problem(name="poisson-ngd", geometry=Rectangle((0.0, 0.0), (1.0, 1.0)), residual=residual,
                   boundary_conditions=(Dirichlet(0.0),),
                   exact_solution=lambda xy, p: torch.sin(math.pi * xy[:, 0]) * torch.sin(math.pi * xy[:, 1]))


def _same(a, b) -> None:
    assert a.status is b.status and a.history == b.history
    assert a.stats["iterations"] == b.stats["iterations"] and a.stats["final_loss"] == b.stats["final_loss"]
    for p, q in zip(a.model.parameters(), b.model.parameters(), strict=True):
        assert torch.equal(p, q)


def test_checkpointed_pieces_equal_one_run(tmp_path):
    """Every 5 iterations a new Gauss–Newton call picks up damping, line-search start and vector (the
    damping falls from 1e-6 to 1.1e-7 between iterations 20 and 24 here, so it must be carried)."""
    whole = solve(_poisson(), "pinn-ngd", **SETTINGS)
    assert whole.status is Status.BUDGET_EXHAUSTED and whole.stats["iterations"] == 30, whole.message
    assert whole.history["loss"][-1] < 0.1 * whole.history["loss"][0]  # real steps (46 -> 1.2e-4 here)
    pieces = solve(_poisson(), "pinn-ngd", checkpoint=str(tmp_path / "ngd.ckpt"), checkpoint_every=5, **SETTINGS)
    _same(pieces, whole)


def test_interrupted_and_resumed_run_equals_the_uninterrupted_one(tmp_path):
    calls: dict = {"n": 0}
    whole = solve(_poisson(calls=calls), "pinn-ngd", **SETTINGS)
    path = str(tmp_path / "ngd.ckpt")
    stopped = solve(_poisson(kill_at=calls["n"] // 2), "pinn-ngd", checkpoint=path, checkpoint_every=100, **SETTINGS)
    assert stopped.status is Status.INTERRUPTED and "SIGTERM" in stopped.message and "resume" in stopped.message
    assert 0 < stopped.stats["iterations"] < 30
    resumed = solve(_poisson(), "pinn-ngd", checkpoint=path, resume=True, **SETTINGS)
    _same(resumed, whole)
    assert resumed.stats["wall_s"] >= stopped.stats["wall_s"]  # the time before the signal counts


def test_more_iterations_on_resume_continue_the_run(tmp_path):
    path = str(tmp_path / "ngd.ckpt")
    longer = solve(_poisson(), "pinn-ngd", **dict(SETTINGS, iterations=40))
    solve(_poisson(), "pinn-ngd", checkpoint=path, **SETTINGS)
    continued = solve(_poisson(), "pinn-ngd", checkpoint=path, resume=True, **dict(SETTINGS, iterations=40))
    _same(continued, longer)


def test_a_checkpoint_of_other_settings_is_refused(tmp_path):
    path = str(tmp_path / "ngd.ckpt")
    solve(_poisson(), "pinn-ngd", checkpoint=path, **SETTINGS)
    with pytest.raises(ValueError, match="different run"):
        solve(_poisson(), "pinn-ngd", checkpoint=path, resume=True, **dict(SETTINGS, damping=1e-3))
    with pytest.raises(ValueError, match="needs a checkpoint path"):
        solve(_poisson(), "pinn-ngd", resume=True, **SETTINGS)
