"""DCDM's network training checkpoints: SIGTERM writes one and stops, a resumed (or extended)
training ends bit for bit where an uninterrupted one does, a finished checkpoint gives the
trained network without training again, and a diverging training stops with a status."""

import dataclasses
import os
import signal

import numpy as np
import pytest
import torch

from pde_lab import Status, solve
from pde_lab.linalg import dcdm_net
from pde_lab.linalg.dcdm_net import TrainingSettings
from problems import poisson

SETTINGS = TrainingSettings(grid=(8, 16), lanczos_steps=40, low_mode_extra=3, steps=60, batch=4)
OPTIONS = dict(cells=16, channels=4, max_iterations=200, progress=False)


def _solve(settings=SETTINGS, **options):
    return solve(poisson(), "dcdm", training=settings, **OPTIONS, **options)


def _same_network(a, b) -> bool:
    return all(torch.equal(p, q) for p, q in zip(a.model.parameters(), b.model.parameters(), strict=True))


def test_interrupted_training_resumes_bit_for_bit(tmp_path, monkeypatch):
    path = str(tmp_path / "dcdm.ckpt")
    whole = _solve()
    draw, calls = dcdm_net.training_rhs, [0]

    def draw_then_stop(*args):  # the 25th step's right-hand sides, then SIGTERM
        calls[0] += 1
        if calls[0] == 25:
            os.kill(os.getpid(), signal.SIGTERM)
        return draw(*args)

    with monkeypatch.context() as patch:
        patch.setattr(dcdm_net, "training_rhs", draw_then_stop)
        stopped = _solve(checkpoint=path, checkpoint_every=10)
    assert stopped.status is Status.INTERRUPTED and "SIGTERM" in stopped.message and "resume" in stopped.message
    assert len(stopped.history["loss"]) == 25 and stopped.stats["iterations"] == 0  # no DCDM solve
    resumed = _solve(checkpoint=path, resume=True)
    assert resumed.status is whole.status and resumed.stats["iterations"] == whole.stats["iterations"] > 0
    assert resumed.history["loss"] == whole.history["loss"] and _same_network(resumed, whole)
    assert resumed.history["residual"] == whole.history["residual"]


def test_a_finished_checkpoint_is_reused_and_a_longer_budget_extends_it(tmp_path):
    path = str(tmp_path / "dcdm.ckpt")
    short = _solve(dataclasses.replace(SETTINGS, steps=30), checkpoint=path)
    again = _solve(dataclasses.replace(SETTINGS, steps=30), checkpoint=path, resume=True)
    assert _same_network(again, short) and again.history["loss"] == short.history["loss"]
    extended = _solve(checkpoint=path, resume=True)  # 30 more steps on the same random stream
    whole = _solve()
    assert extended.history["loss"] == whole.history["loss"] and _same_network(extended, whole)
    with pytest.raises(ValueError, match="different run"):
        _solve(dataclasses.replace(SETTINGS, batch=8), checkpoint=path, resume=True)


def test_a_non_finite_training_loss_stops_with_status_diverged(monkeypatch):
    loss, calls = dcdm_net.scale_invariant_loss, [0]

    def nan_at_the_tenth(*args):
        calls[0] += 1
        value = loss(*args)
        return value * float("nan") if calls[0] == 10 else value

    monkeypatch.setattr(dcdm_net, "scale_invariant_loss", nan_at_the_tenth)
    solution = _solve()
    assert solution.status is Status.DIVERGED and "NaN/inf during Adam at iteration 9" in solution.message
    assert all(torch.isfinite(p).all() for p in solution.model.parameters())  # the last finite ones
    assert np.isnan(solution(np.array([[0.5, 0.5]]))).all()  # nothing was solved


def test_checkpoint_options_are_checked(tmp_path):
    with pytest.raises(ValueError, match="resume=True needs a checkpoint path"):
        _solve(resume=True)
    with pytest.raises(ValueError, match="resume must be True or False"):
        _solve(checkpoint=str(tmp_path / "x.ckpt"), resume="yes")
    with pytest.raises(ValueError, match="with network= nothing is trained"):
        solve(poisson(), "dcdm", cells=8, network=dcdm_net.DCDMNet(2, channels=2), checkpoint=str(tmp_path / "x"))
