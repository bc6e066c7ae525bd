"""L-BFGS in the shared training loop: a run that stops short of its budget is started afresh
(memory cleared) and ends only when a fresh start gets the loss no lower; checkpoints keep
where that stands, so a resumed run restarts exactly where an uninterrupted one does."""

import os
import re
import signal

import pytest
import torch

from pde_lab import Status
from pde_lab.checkpoint import Checkpointing
from pde_lab.training import _Run, train


def _rosenbrock(x: torch.Tensor) -> torch.Tensor:
    return ((1 - x[:-1]).square() + 100 * (x[1:] - x[:-1].square()).square()).sum()


def _fresh_starts(message: str) -> int:
    found = re.search(r"\((\d+) fresh starts? of L-BFGS\)", message)
    return int(found.group(1)) if found else 0


def test_a_stalled_lbfgs_is_started_afresh_until_a_fresh_start_gets_nowhere():
    x = torch.nn.Parameter(torch.tensor([-1.2, 1.0, 0.5], dtype=torch.float64))
    run = _Run([x], lambda: {"f": _rosenbrock(x)}, {}, None, {})
    lbfgs = torch.optim.LBFGS([x], max_iter=3)

    def closure():
        lbfgs.zero_grad()
        value = _rosenbrock(x)
        value.backward()
        return value

    lbfgs.step(closure)
    assert lbfgs.state[x]["n_iter"] >= 2 and "old_dirs" in lbfgs.state[x]
    run.history["loss"] = [2.0]
    assert run.restart(lbfgs)  # the first stop: start afresh
    assert not lbfgs.state  # no curvature pairs, no iteration count: the next step is L-BFGS's first
    run.history["loss"].append(1.0)
    assert run.restart(lbfgs)  # the fresh start got the loss lower: again
    run.history["loss"].append(1.0)
    assert not run.restart(lbfgs)  # this one got nowhere: stop
    assert run.restarts == 2


def _run(path, stop_after=None, resume=False):
    x = torch.nn.Parameter(torch.tensor([-1.2, 1.0] * 5, dtype=torch.float64))
    calls = [0]

    def terms():
        calls[0] += 1
        if calls[0] == stop_after:
            os.kill(os.getpid(), signal.SIGTERM)
        return {"f": _rosenbrock(x)}

    checkpoint = Checkpointing(str(path), every=10, resume=resume)
    return train([x], terms, adam_steps=0, lbfgs_steps=3000, progress=False, checkpoint=checkpoint), x


def test_fresh_starts_reach_the_minimum_and_a_resumed_run_makes_the_same_ones(tmp_path):
    path = tmp_path / "rosenbrock.ckpt"
    whole, x = _run(path)
    assert whole.status is Status.CONVERGED and "a fresh start got the loss no lower" in whole.message
    assert whole.iterations < 3000 and _fresh_starts(whole.message) >= 2
    assert float((x.detach() - 1).abs().max()) < 1e-7  # the 10-D Rosenbrock minimum, (1, ..., 1)
    # stopped late, after the first fresh start: the resumed run must know it was made
    stopped, _ = _run(path, stop_after=int(0.9 * whole.iterations))
    assert stopped.status is Status.INTERRUPTED
    resumed, y = _run(path, resume=True)
    assert resumed.message == whole.message and resumed.history == whole.history
    assert torch.equal(x, y)


@pytest.mark.parametrize("budget", [0, 7])
def test_the_budget_still_bounds_lbfgs_with_fresh_starts(budget):
    x = torch.nn.Parameter(torch.tensor([-1.2, 1.0], dtype=torch.float64))
    result = train([x], lambda: {"f": _rosenbrock(x)}, adam_steps=0, lbfgs_steps=budget, progress=False)
    assert result.iterations == budget and result.status is Status.BUDGET_EXHAUSTED


def _widened_run(path, stop_after=None, resume=False):
    """Adam in float32, then before_lbfgs widens the parameter to float64 for L-BFGS."""
    x = torch.nn.Parameter(torch.tensor([-1.2, 1.0] * 3, dtype=torch.float32))
    calls, widened = [0], []

    def terms():
        calls[0] += 1
        if calls[0] == stop_after:
            os.kill(os.getpid(), signal.SIGTERM)
        return {"f": _rosenbrock(x)}

    def widen():
        widened.append(x.dtype)
        x.data = x.data.double()

    checkpoint = Checkpointing(str(path), every=10, resume=resume)
    result = train([x], terms, adam_steps=30, lbfgs_steps=500, learning_rate=1e-2, progress=False,
                   checkpoint=checkpoint, before_lbfgs=widen)
    return result, x, widened


def test_before_lbfgs_widens_once_and_a_run_resumed_in_lbfgs_loads_the_wide_parameters(tmp_path):
    path = tmp_path / "widened.ckpt"
    whole, x, widened = _widened_run(path)
    assert widened == [torch.float32] and x.dtype == torch.float64  # called once, before L-BFGS
    assert float((x.detach() - 1).abs().max()) < 1e-7  # float64 L-BFGS reaches the minimum (1, ..., 1)
    stopped, _, _ = _widened_run(path, stop_after=60)  # interrupted in L-BFGS, after the widening
    assert stopped.status is Status.INTERRUPTED and stopped.iterations > 30
    resumed, y, widened = _widened_run(path, resume=True)
    assert widened == [torch.float32]  # the resumed run widens before loading the float64 checkpoint
    assert resumed.history == whole.history and torch.equal(x, y)


def test_before_lbfgs_is_not_called_without_lbfgs():
    x = torch.nn.Parameter(torch.tensor([-1.2, 1.0]))
    calls = []
    train([x], lambda: {"f": _rosenbrock(x)}, adam_steps=5, lbfgs_steps=0, progress=False,
          before_lbfgs=lambda: calls.append(1))
    assert not calls and x.dtype == torch.float32


def test_float32_lbfgs_stalls_on_an_ill_conditioned_least_squares_and_widened_to_float64_does_not():
    """min |Mx - b|^2 / n, M 2000 x 40 with singular values 1 ... 1e-3 (Hessian condition 1e6).
    Measured: float32 L-BFGS stops after 47 iterations (10 fresh starts) 1.2e-2 above the
    minimum; the same run widened to float64 by before_lbfgs uses its 2000 and ends 4.3e-8 above."""
    g = torch.Generator().manual_seed(0)
    left, _ = torch.linalg.qr(torch.randn(2000, 40, generator=g, dtype=torch.float64))
    right, _ = torch.linalg.qr(torch.randn(40, 40, generator=g, dtype=torch.float64))
    matrix = left @ torch.diag(torch.logspace(0, -3, 40, dtype=torch.float64)) @ right.T
    b = torch.randn(2000, generator=g, dtype=torch.float64)
    minimum = (matrix @ torch.linalg.lstsq(matrix, b).solution - b).square().mean().item()
    gaps, iterations = [], []
    for widen in (False, True):
        x = torch.nn.Parameter(torch.zeros(40))

        def to_float64():
            x.data = x.data.double()

        result = train([x], lambda: {"f": (matrix.to(x.dtype) @ x - b.to(x.dtype)).square().mean()}, adam_steps=200,
                       lbfgs_steps=2000, learning_rate=1e-2, progress=False, before_lbfgs=to_float64 if widen else None)
        gaps.append((matrix @ x.detach().double() - b).square().mean().item() - minimum)
        iterations.append(result.iterations)
    assert iterations[0] < 1000 and gaps[0] > 1e-3  # float32: stalled, far above the minimum
    assert iterations[1] == 2200 and gaps[1] < 1e-6


def test_a_loss_that_is_not_finite_before_any_step_says_the_problem_is_at_fault():
    x = torch.nn.Parameter(torch.tensor([1.0, 2.0]))
    result = train([x], lambda: {"f": (x / 0.0 * 0.0).sum()}, adam_steps=5, lbfgs_steps=0, progress=False)
    assert result.status is Status.DIVERGED and "NaN/inf at the initial parameters, before any step" in result.message
    assert "learning rate" not in result.message
