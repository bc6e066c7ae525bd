"""The DeepXDE peer: the same problem through DeepXDE, against exact solutions and our PINN.

Timings are for one CPU thread (set for this module, then put back): these networks are far
too small for threads to pay, and on two shared cores threads made each solve 2-3x slower.
"""

import math
import random

import numpy as np
import pytest
import torch

from geometries import Disk, Interval, Rectangle
from pde_lab import Dirichlet, Neumann, Periodic, Problem, Status, solve
from pde_lab.collocation import pde_residuals
from pde_lab.nets import MLP
from pde_lab.solvers.deepxde_peer import DeepXDEPeer, deepxde_pde
from problems import burgers, poisson

# One budget for both solvers: a 3x20 tanh MLP, 500 Adam + 500 L-BFGS steps, float64.
BUDGET = {
    "width": 20,
    "depth": 3,
    "n_interior": 300,
    "n_boundary": 100,
    "adam_steps": 500,
    "lbfgs_steps": 500,
    "weights": {"boundary": 10.0},
    "dtype": "float64",
    "device": "cpu",
    "progress": False,
}
TOLERANCE = 5e-3
ONE_D = {"width": 20, "n_interior": 64, "n_boundary": 2, "adam_steps": 300, "lbfgs_steps": 200}
ONE_D |= {"dtype": "float64", "device": "cpu", "progress": False}
TINY = {"width": 5, "n_interior": 20, "n_boundary": 8, "device": "cpu"}


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def poisson_runs():
    problem = poisson()
    return problem, solve(problem, "deepxde", **BUDGET), solve(problem, "pinn", **BUDGET)


def test_deepxde_solves_poisson_like_our_pinn(poisson_runs):
    """Measured: rel L2 1.4e-3 (DeepXDE) and 1.5e-3 (PINN) vs sin(πx) sin(πy); ~8 s and ~5 s."""
    _, peer, pinn = poisson_runs
    assert peer.error_vs() <= TOLERANCE and pinn.error_vs() <= TOLERANCE
    assert peer.error_vs(pinn) <= 2 * TOLERANCE  # the two answers agree with each other
    assert peer.status is Status.BUDGET_EXHAUSTED and "lbfgs_steps" in peer.message
    loss = peer.history["loss"]
    assert loss[-1] < 1e-3 * loss[0] and len(loss) == len(peer.history["iteration"]) > 20
    # DeepXDE alone would run 1000 L-BFGS iterations here (its issue #1691): the budget holds.
    assert peer.stats["iterations"] == peer.history["iteration"][-1] == 1000
    assert peer.stats["device"] == "cpu" and peer.stats["dtype"] == "float64"
    assert peer.stats["wall_s"] > 0 and peer.stats["peak_mem_mb"] >= 0


def _quiet_deepxde():
    from geometries._deepxde import deepxde_geometry_module

    deepxde_geometry_module()  # imports DeepXDE without chatter or a changed default device
    import deepxde

    return deepxde


def _native_burgers_residual(x, y, nu):
    """Burgers as DeepXDE's own example writes it, with dde.grad."""
    dde = _quiet_deepxde()
    u_x, u_t = dde.grad.jacobian(y, x, i=0, j=0), dde.grad.jacobian(y, x, i=0, j=1)
    u_xx = dde.grad.hessian(y, x, i=0, j=0)
    residual = u_t + y * u_x - nu * u_xx
    dde.grad.clear()
    return residual


def test_the_residual_deepxde_trains_on_is_ours(poisson_runs):
    """u_t − F[u] and R[u] from deepxde_pde equal pde_residuals and DeepXDE's own dde.grad form."""
    generator = torch.Generator().manual_seed(0)
    problem, peer, _ = poisson_runs
    points = torch.rand(128, 2, generator=generator, dtype=torch.float64).requires_grad_(True)
    (ours,) = pde_residuals(problem, peer.model, points)
    (theirs,) = deepxde_pde(problem)(points, peer.model(points))
    assert theirs.shape == (128, 1)
    torch.testing.assert_close(theirs[:, 0], ours, rtol=0, atol=1e-12)

    problem = burgers()
    with torch.random.fork_rng():
        torch.manual_seed(0)
        net = MLP(2, 1, 20, 3, "tanh").double()
    points = (torch.rand(128, 2, generator=generator, dtype=torch.float64) * 2 - 1).requires_grad_(
        True
    )
    (ours,) = pde_residuals(problem, net, points)
    y = net(points)
    (theirs,) = deepxde_pde(problem)(points, y)
    torch.testing.assert_close(theirs[:, 0], ours, rtol=0, atol=1e-12)
    native = _native_burgers_residual(points, y, problem.parameters.nu)
    torch.testing.assert_close(theirs, native, rtol=0, atol=1e-12)


def test_short_burgers_run_is_quiet_and_leaves_global_state_alone(capfd):
    dde = _quiet_deepxde()
    before = (
        torch.get_default_dtype(),
        torch.random.get_rng_state(),
        np.random.get_state()[1].copy(),
        random.getstate(),
        dde.config.real.precision,
        dict(dde.optimizers.LBFGS_options),
    )
    capfd.readouterr()
    solution = solve(
        burgers(),
        "deepxde",
        width=20,
        n_interior=200,
        n_boundary=40,
        n_initial=40,
        adam_steps=30,
        lbfgs_steps=10,
        device="cpu",
        progress=False,
    )  # float32
    assert capfd.readouterr().out == ""
    after = (
        torch.get_default_dtype(),
        torch.random.get_rng_state(),
        np.random.get_state()[1],
        random.getstate(),
        dde.config.real.precision,
        dict(dde.optimizers.LBFGS_options),
    )
    assert after[0] == before[0] == torch.float32
    assert torch.equal(after[1], before[1]) and np.array_equal(after[2], before[2])
    assert after[3:] == before[3:]

    loss = solution.history["loss"]
    assert all(math.isfinite(value) for value in loss) and loss[-1] < loss[0]
    assert set(solution.history) >= {"pde", "boundary", "initial"}
    assert solution.stats["iterations"] == 40 and solution.stats["dtype"] == "float32"
    xt = np.column_stack([np.linspace(-1, 1, 7), np.full(7, 0.5)])
    values = solution(xt)
    assert values.shape == (7, 1) and np.all(np.isfinite(values))
    assert solution(torch.as_tensor(xt)).dtype == torch.float64


def test_progress_goes_to_stderr_never_stdout(capfd):
    capfd.readouterr()
    solve(poisson(), "deepxde", **TINY, adam_steps=2, lbfgs_steps=0, progress=True)
    captured = capfd.readouterr()
    assert captured.out == "" and "loss" in captured.err.lower()


def test_where_masks_neumann_data_and_callable_values_reach_deepxde():
    """u = sin(πx/2) + x + 1 on [0, 1]: u(0) = 1 (callable, masked to x < 1/2), u'(1) = 1.

    Measured: rel L2 2.5e-6; 0.52 with the Neumann value's sign flipped.
    """
    k = math.pi / 2
    problem = Problem(
        name="mixed-1d",
        geometry=Interval(0.0, 1.0),
        residual=lambda f, p: -f.u_xx - k**2 * torch.sin(k * f.x),
        boundary_conditions=(
            Dirichlet(lambda x: 1.0 + 0.0 * x[:, 0], where=lambda x: x[:, 0] < 0.5),
            Neumann(1.0, where=lambda x: x[:, 0] > 0.5),
        ),
        exact_solution=lambda x, p: torch.sin(k * x[:, 0]) + x[:, 0] + 1.0,
    )
    solution = DeepXDEPeer(**ONE_D).solve(problem)
    assert solution.error_vs() <= 1e-3


def test_periodic_conditions_reach_deepxde():
    """-u'' + u = 2 sin x on [0, 2π], periodic: the unique solution is sin x.

    Measured: rel L2 1.6e-3; 8e-2 with the Periodic condition left out.
    """
    problem = Problem(
        name="periodic-1d",
        geometry=Interval(0.0, 2 * math.pi),
        residual=lambda f, p: -f.u_xx + f.u - 2 * torch.sin(f.x),
        boundary_conditions=(Periodic(0),),
        exact_solution=lambda x, p: torch.sin(x[:, 0]),
    )
    solution = DeepXDEPeer(**ONE_D).solve(problem)
    assert solution.error_vs() <= 5e-3


def test_nan_loss_is_reported_as_diverged_with_a_hint():
    calls = {"n": 0}

    def residual(f, p):
        calls["n"] += 1
        return -f.lap("u") - 1.0 + (float("nan") if calls["n"] > 3 else 0.0)

    problem = Problem(
        name="breaks",
        geometry=Rectangle((0, 0), (1, 1)),
        residual=residual,
        boundary_conditions=(Dirichlet(0.0),),
    )
    solution = solve(problem, "deepxde", **TINY, adam_steps=10, lbfgs_steps=10, progress=False)
    assert solution.status is Status.DIVERGED and "learning_rate" in solution.message
    assert not math.isfinite(solution.stats["final_loss"])


class _NotADeepXDEGeometry:
    dim, bounds = 1, (np.zeros(1), np.ones(1))

    def contains(self, points): ...

    def sample_interior(self, n, method="sobol", seed=None): ...

    def sample_boundary(self, n, method="sobol", seed=None): ...


@pytest.mark.parametrize(
    "geometry, conditions, match",
    [
        (Disk((0.0, 0.0), 1.0), (Periodic(0),), "cannot express Periodic"),
        (_NotADeepXDEGeometry(), (), "no DeepXDE counterpart"),
        (Interval(0.0, 1.0), (Dirichlet(0.0, where=lambda x: x[:, 0] > 2),), "selects none"),
    ],
)
def test_what_deepxde_cannot_express_is_a_clear_value_error(geometry, conditions, match):
    problem = Problem(
        name="inexpressible",
        geometry=geometry,
        residual=lambda f, p: f.u,
        boundary_conditions=conditions,
    )
    with pytest.raises(ValueError, match=match):
        solve(problem, "deepxde", adam_steps=1, lbfgs_steps=0, device="cpu", progress=False)
    assert torch.get_default_dtype() == torch.float32


def test_bad_options_are_rejected_before_deepxde_runs():
    with pytest.raises(ValueError, match="activation"):
        solve(poisson(), "deepxde", activation="softsign")
    with pytest.raises(ValueError, match="loss weights"):
        solve(poisson(), "deepxde", weights={"bc": 1.0})
    with pytest.raises(ValueError, match="sampling"):
        solve(poisson(), "deepxde", sampling="grid")


@pytest.mark.cuda
def test_runs_on_the_requested_cuda_device(device):
    solution = solve(
        poisson(),
        "deepxde",
        width=10,
        n_interior=64,
        n_boundary=32,
        adam_steps=20,
        lbfgs_steps=5,
        device=device,
        progress=False,
    )
    assert solution.stats["device"].startswith("cuda") and math.isfinite(
        solution.stats["final_loss"]
    )
    assert torch.get_default_device().type == "cpu"
