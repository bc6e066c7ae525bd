"""Causal PINN checkpoints: SIGTERM in any window writes one and stops; resuming ends bit for bit
where the uninterrupted run ends, windows, weights' history and all; a foreign file is refused."""

from __future__ import annotations

import math
import os
import signal

import pytest
import torch

from geometries import Interval
from pde_lab import Periodic, Problem, Status, solve

SETTINGS = dict(architecture="modified-mlp", width=12, depth=2, harmonics=2, time_chunks=4, n_space=8, n_initial=16,
                windows=2, epsilons=(1e-2, 1e-1), steps_per_epsilon=30, check_every=10, checkpoint_every=10,
                initial_weight=10.0, learning_rate=3e-3, device="cpu", progress=False, seed=5)


def _transport(kill_at: int | None = None) -> Problem:
    """u_t = -u_x, periodic, u0 = sin x; SIGTERM to this process at the ``kill_at``-th rate call."""
    calls = {"n": 0}

    def rate(f, p):
        calls["n"] += 1
        if calls["n"] == kill_at:
            os.kill(os.getpid(), signal.SIGTERM)
        return -f.u_x

    return Problem(name="transport", geometry=Interval(0.0, 2 * math.pi), time_span=(0.0, 1.0), rate=rate,
                   initial_condition=lambda x: torch.sin(x[:, 0]), boundary_conditions=(Periodic(0),))


# in window 1; in window 2 (each window takes 60 steps here), the second also with initial points drawn each
# step, the third with grad-norm loss balancing every 7 steps; the last in a window that then resolves every ε
# (20 steps a window; the resumed window must not keep the stopped run's status)
@pytest.mark.parametrize("kill_at, options", [(17, {"resample_initial": False}), (75, {"resample_initial": False}),
                                              (75, {"resample_initial": True}),
                                              (75, {"loss_balance": "grad-norm", "balance_every": 7}),
                                              (25, {"epsilons": (1e-4, 1e-3)})])
def test_interrupted_and_resumed_run_equals_the_uninterrupted_one(tmp_path, kill_at, options):
    settings = dict(SETTINGS, **options)
    whole = solve(_transport(), "causal", **settings)
    path = str(tmp_path / "causal.ckpt")
    stopped = solve(_transport(kill_at), "causal", checkpoint=path, **settings)
    assert stopped.status is Status.INTERRUPTED, stopped.message
    assert "SIGTERM" in stopped.message and "resume" in stopped.message
    assert len(stopped.history["loss"]) == kill_at  # the step under way when the signal came was finished
    resumed = solve(_transport(), "causal", checkpoint=path, resume=True, **settings)
    assert resumed.status is whole.status
    if "epsilons" in options:
        assert whole.status is Status.CONVERGED
    assert resumed.history == whole.history  # losses, ε, causal weights at every check
    if "loss_balance" in options:  # updated at steps 0, 7, 14, ... of each window
        initial = whole.history["balance_initial"]
        assert len(initial) == len(whole.history["loss"]) and initial[0] != 1.0 and initial[6] == initial[0] != initial[7]
    for key in ("windows", "window_steps", "window_jumps", "epsilons_resolved", "iterations"):
        assert resumed.stats[key] == whole.stats[key], key
    for a, b in zip(whole.model, resumed.model, strict=True):
        for p, q in zip(a.parameters(), b.parameters(), strict=True):
            assert torch.equal(p, q)


def test_a_longer_epsilon_budget_continues_the_window_and_other_changes_are_refused(tmp_path):
    path = str(tmp_path / "causal.ckpt")
    one = dict(SETTINGS, windows=1, epsilons=(1.0, 1e3), tolerance=0.999999)  # ε = 1e3 is never resolved here
    short = solve(_transport(90), "causal", checkpoint=path, **dict(one, steps_per_epsilon=200))
    assert short.status is Status.INTERRUPTED
    longer = solve(_transport(), "causal", checkpoint=path, resume=True, **dict(one, steps_per_epsilon=400))
    assert longer.stats["iterations"] == 2 * 400 and longer.history["loss"][:90] == short.history["loss"]
    with pytest.raises(ValueError, match="different run"):
        solve(_transport(), "causal", checkpoint=path, resume=True, **dict(one, width=13))
    with pytest.raises(ValueError, match="needs a checkpoint path"):
        solve(_transport(), "causal", resume=True, **one)
    with pytest.raises(ValueError, match="checkpoint_every"):
        solve(_transport(), "causal", checkpoint=path, **dict(one, checkpoint_every=0))
