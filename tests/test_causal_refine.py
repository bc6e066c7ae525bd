"""The causal PINN's L-BFGS refinement (``lbfgs_steps``): it lowers the loss each window's Adam phase left,
in float64; the causal weights stay in the loss; an interrupted refinement resumes bit for bit; bad
settings are refused."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from test_causal_checkpoint import _transport  # u_t = -u_x, u0 = sin x, exact sin(x - t)

from pde_lab import Status, solve
from pde_lab.solvers.causal import CausalPINN

SETTINGS = dict(architecture="modified-mlp", width=12, depth=2, harmonics=2, time_chunks=4, n_space=8, n_initial=16,
                windows=2, epsilons=(1e-2, 1e-1), steps_per_epsilon=30, check_every=10, checkpoint_every=10,
                initial_weight=10.0, learning_rate=3e-3, device="cpu", progress=False, seed=5,
                lbfgs_steps=60, lbfgs_points=256)


def _error(solution) -> float:
    x, t = np.meshgrid(np.linspace(0, 2 * math.pi, 64), np.linspace(0, 1, 21))
    points = np.stack([x.ravel(), t.ravel()], axis=1)
    exact = np.sin(points[:, 0] - points[:, 1])
    return float(np.linalg.norm(solution(points)[:, 0] - exact) / np.linalg.norm(exact))


def test_refinement_lowers_the_loss_in_float64_and_the_solution_with_it():
    adam = solve(_transport(), "causal", **dict(SETTINGS, lbfgs_steps=0))
    refined = solve(_transport(), "causal", **SETTINGS)
    history, windows = refined.history, np.asarray(refined.history["window"])
    assert refined.stats["window_steps"] == adam.stats["window_steps"] == [60, 60]  # the same Adam phase first
    assert refined.stats["window_lbfgs_steps"] == [60, 60]
    assert history["loss"][:60] == adam.history["loss"][:60]
    for index in (0, 1):
        losses = np.asarray(history["loss"])[windows == index]
        start, end = losses[60], losses[-1]  # the refinement's first record is the state Adam left, in float64
        assert end < 0.1 * start, (index, start, end)
    assert all(p.dtype == torch.float64 for network in refined.model for p in network.parameters())
    assert refined.stats["window_dtypes"] == ["float64"] * 2 and adam.stats["window_dtypes"] == ["float32"] * 2
    assert refined.stats["window_jumps"][0] < 0.5 * adam.stats["window_jumps"][0]
    assert _error(refined) < 0.3 * _error(adam)


def test_the_causal_weights_stay_in_the_refinement_and_the_ablation_has_none():
    settings = dict(SETTINGS, windows=1, epsilons=(30.0,), steps_per_epsilon=20, lbfgs_steps=20)
    causal = solve(_transport(), "causal", **settings)
    assert causal.history["epsilon"][-1] == 30.0
    assert 0 < causal.history["min_weight"][20] < 0.99  # ε = 30 is not resolved after 20 Adam steps
    plain = solve(_transport(), "causal", **dict(settings, causal=False))
    assert plain.history["min_weight"][20:] == [1.0] * len(plain.history["min_weight"][20:])


def test_grad_norm_weights_are_kept_through_the_refinement():
    solution = solve(_transport(), "causal", **dict(SETTINGS, windows=1, loss_balance="grad-norm", balance_every=7))
    initial = solution.history["balance_initial"]
    assert len(initial) == len(solution.history["loss"]) > 60
    assert initial[0] != 1.0 and set(initial[60:]) == {initial[59]}


def test_the_time_budget_keeps_a_share_for_the_refinement():
    settings = dict(SETTINGS, windows=1, epsilons=(1.0, 1e3), tolerance=0.999999, steps_per_epsilon=10**6,
                    lbfgs_steps=10**6, lbfgs_share=0.5, time_limit=3.0)  # ε = 1e3 is never resolved here
    solution = solve(_transport(), "causal", **settings)
    assert solution.status is Status.BUDGET_EXHAUSTED
    assert solution.stats["window_steps"][0] > 0 and solution.stats["window_lbfgs_steps"][0] > 0
    assert solution.stats["wall_s"] < 3.0 + 2.0  # one chunk of 20 iterations may run past the budget


def test_an_interrupted_refinement_resumes_bit_for_bit(tmp_path):
    whole = solve(_transport(), "causal", **SETTINGS)
    path = str(tmp_path / "causal.ckpt")
    stopped = solve(_transport(80), "causal", checkpoint=path, **SETTINGS)  # Adam makes rate calls 1-60
    assert stopped.status is Status.INTERRUPTED, stopped.message
    assert stopped.stats["windows"] == 1 and 0 < stopped.stats["window_lbfgs_steps"][0] < 60
    resumed = solve(_transport(), "causal", checkpoint=path, resume=True, **SETTINGS)
    assert resumed.history == whole.history
    for key in ("window_steps", "window_lbfgs_steps", "window_jumps", "iterations"):
        assert resumed.stats[key] == whole.stats[key], key
    for a, b in zip(whole.model, resumed.model, strict=True):
        for p, q in zip(a.parameters(), b.parameters(), strict=True):
            assert p.dtype == q.dtype == torch.float64 and torch.equal(p, q)


def test_a_run_stopped_in_its_refinement_may_resume_with_fewer_lbfgs_steps(tmp_path):
    path = str(tmp_path / "causal.ckpt")
    stopped = solve(_transport(80), "causal", checkpoint=path, **SETTINGS)
    made = stopped.stats["window_lbfgs_steps"][0]
    resumed = solve(_transport(), "causal", checkpoint=path, resume=True, **dict(SETTINGS, lbfgs_steps=0))
    assert resumed.stats["window_lbfgs_steps"] == [made, 0]  # window 1 keeps its float64 network; window 2: Adam only
    assert [next(n.parameters()).dtype for n in resumed.model] == [torch.float64, torch.float32]
    assert np.isfinite(_error(resumed))


@pytest.mark.parametrize("change, message", [({"lbfgs_steps": -1}, "lbfgs_steps"),
                                             ({"lbfgs_points": 3}, "lbfgs_points"),
                                             ({"lbfgs_share": 1.0}, "lbfgs_share"),
                                             ({"lbfgs_dtype": "float16"}, "lbfgs_dtype")])
def test_bad_refinement_settings_are_refused(change, message):
    with pytest.raises(ValueError, match=message):
        CausalPINN(**dict(SETTINGS, **change))
