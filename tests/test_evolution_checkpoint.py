"""Checkpoints of TENG, OBTI and TDVP: SIGTERM mid-run writes one and stops; the resumed run skips
the initial fit and ends bit for bit where the uninterrupted run ends; a foreign file is refused."""

from __future__ import annotations

import dataclasses
import math
import os
import signal

import pytest
import torch

from geometries import Interval
from pde_lab import Periodic, Problem, Status, solve
from problems import heat

SOLVERS = {
    # subset_sizes draw random parameter subsets: the generator's state is part of the checkpoint
    "teng": dict(scheme="heun", iterations=4, heun_iterations=3, subset_sizes=(60,)),
    "obti": dict(scheme="euler", iterations=5),
    "tdvp": dict(scheme="rk4"),
}
COMMON = dict(width=6, hidden_layers=2, points_per_axis=64, fit_iterations=40, dt=0.05, device="cpu",
              progress=False, seed=2, checkpoint_every=3)


def _heat(kill_at: int | None = None, t_final: float = 0.5, calls: dict | None = None, plane: bool = False) -> Problem:
    """u_t = 0.1 u_xx on the 2π-periodic line (``plane``: u_t = 0.1 Δu on the periodic square,
    :func:`problems.heat`); SIGTERM to this process at the ``kill_at``-th rate call (counted in ``calls["n"]``)."""
    calls = {"n": 0} if calls is None else calls

    def rate(f, p):
        calls["n"] += 1
        if calls["n"] == kill_at:
            os.kill(os.getpid(), signal.SIGTERM)
        return 0.1 * (f.lap("u") if plane else f.u_xx)

    if plane:
        return dataclasses.replace(heat(t_final=t_final), rate=rate)
    return Problem(name="heat-1d", geometry=Interval(0.0, 2 * math.pi), time_span=(0.0, t_final), rate=rate,
                   initial_condition=lambda x: torch.sin(x[:, 0]) + 0.5 * torch.cos(2 * x[:, 0]),
                   boundary_conditions=(Periodic(0),))


#: TENG in 2D, where the subset Jacobians (256 points x 100 of 177 parameters) have full numerical rank: the
#: first fit finds the truncated SVD's sketch too narrow, and the width the fits carry on is part of the checkpoint.
SKETCHED = dict(width=8, points_per_axis=16, subset_sizes=(100,), rcond=(1e-9,))


@pytest.mark.parametrize("name, more", [*((name, {}) for name in SOLVERS), ("teng", SKETCHED)],
                         ids=[*SOLVERS, "teng-2d-sketched"])
def test_interrupted_and_resumed_run_equals_the_uninterrupted_one(tmp_path, name, more, monkeypatch):
    from pde_lab.solvers.evolution import NetworkEvolution

    plane = more is SKETCHED
    settings = {**COMMON, **SOLVERS[name], **more}
    calls: dict = {"n": 0}
    whole = solve(_heat(calls=calls, plane=plane), name, **settings)
    assert whole.status.ok and whole.stats["iterations"] == 10, whole.message
    path = str(tmp_path / f"{name}.ckpt")
    stopped = solve(_heat(kill_at=calls["n"] // 2, plane=plane), name, checkpoint=path, **settings)  # in step 5 or so
    assert stopped.status is Status.INTERRUPTED and "SIGTERM" in stopped.message and "resume" in stopped.message
    assert 0 < stopped.stats["iterations"] < 10
    fitted = []
    init = NetworkEvolution.init
    monkeypatch.setattr(NetworkEvolution, "init", lambda self, problem, fit=True: fitted.append(fit) or
                        init(self, problem, fit))
    resumed = solve(_heat(plane=plane), name, checkpoint=path, resume=True, **settings)
    assert fitted == [False]  # the initial fit is not run again
    assert resumed.status is whole.status and resumed.history == whole.history
    assert resumed.stats["initial_fit_rel_l2"] == whole.stats["initial_fit_rel_l2"]
    for p, q in zip(resumed.model.parameters(), whole.model.parameters(), strict=True):
        assert torch.equal(p, q)
    points = _heat(plane=plane).evaluation_points(17)
    assert (resumed(points) == whole(points)).all()  # every snapshot of the time series


def test_a_checkpoint_of_other_settings_is_refused(tmp_path):
    path = str(tmp_path / "teng.ckpt")
    settings = {**COMMON, **SOLVERS["teng"]}
    solve(_heat(t_final=0.1), "teng", checkpoint=path, **settings)
    with pytest.raises(ValueError, match="different run"):
        solve(_heat(t_final=0.1), "teng", checkpoint=path, resume=True, **dict(settings, dt=0.025))
    with pytest.raises(ValueError, match="needs a checkpoint path"):
        solve(_heat(), "teng", resume=True, **settings)
