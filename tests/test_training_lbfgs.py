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
