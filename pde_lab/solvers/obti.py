r"""OBTI: optimization-based time integration, TENG's first-order baseline.

The same time stepping as TENG (:mod:`pde_lab.solvers.teng`): each step picks the explicit
Euler target :math:`\hat u = u_{\theta_n} + \Delta t\,F[u_{\theta_n}]` (and, for Heun, the second
stage's :math:`\hat u = u_{\theta_n} + \tfrac{\Delta t}{2}(F[u_{\theta_n}] + F[u_{\tilde\theta}])`)
and fits the network to it,

.. math::

    \theta_{n+1} = \arg\min_\theta \tfrac12 \sum_j q_j \bigl(u_\theta(x_j) - \hat u(x_j)\bigr)^2,

but by a first-order or quasi-Newton optimizer on all parameters, warm-started from the
previous parameters: Adam (a fresh optimizer per stage, ``learning_rate``) or L-BFGS with a
strong-Wolfe line search. The TENG paper compares with both (OBTI-Adam, OBTI-L-BFGS). The step
loss is the last stage's least-squares loss, as for TENG, so the two compare directly.

The network, grid, initial fit and step loop are TENG's (:mod:`pde_lab.solvers.evolution`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from pde_lab.solvers.evolution import EvolutionState, NetworkEvolution, misfit_loss, unit_interval
from pde_lab.solvers.teng_projection import Projection
from pde_lab.validation import check_ints

__all__ = ["OBTI"]


@dataclass(frozen=True)
class OBTI(NetworkEvolution):
    """TENG's Euler/Heun targets, fitted by Adam or L-BFGS instead of Gauss–Newton.

    Parameters
    ----------
    scheme
        ``"heun"`` (two stages) or ``"euler"``; or TENG's exponential ``"etdrk4"``, ``"etd2"``, ``"etd1"``.
    optimizer
        ``"adam"`` or ``"lbfgs"``.
    iterations, heun_iterations
        Optimizer iterations of the first stage and of Heun's second: Adam steps, or L-BFGS
        iterations (each with its line search's evaluations).
    learning_rate
        Adam's step size (L-BFGS tries the full quasi-Newton step first, then its line search).
        1D heat (177 parameters, Heun at dt = 0.05 to t = 0.5, 200 + 200 steps): 1e-3 gives 5.6e-4,
        1e-4 5.0e-4, 1e-5 7.9e-4, where TENG reaches 5.4e-6.
    step_tolerance
        A stage stops once the relative L2 misfit to its target is at most this (0: never).
    dt, width, hidden_layers, points_per_axis, fit_*, dtype, device, seed, progress, cpu_threads
        As for :class:`~pde_lab.solvers.teng.TENG`, whose network, grid and initial fit OBTI uses.
    """

    scheme: str = "heun"
    optimizer: str = "adam"
    iterations: int = 200
    heun_iterations: int = 200
    learning_rate: float = 1e-4
    step_tolerance: float = 0.0

    name = "obti"

    def step(self, state: EvolutionState) -> EvolutionState:
        """One step of ``dt``; the loss is the last stage's least-squares loss, the iterations those of all stages."""
        return self._target_step(state, self._stage)

    def _stage(self, projection: Projection, target: torch.Tensor, vector: torch.Tensor,
               iterations: int) -> tuple[torch.Tensor, float, int]:
        """Minimise ½‖√q (u_θ − target)‖² from ``vector``: the parameters, their loss and the iterations taken."""
        from pde_lab.natural_gradient import _unflatten

        network, points = projection.network, projection.grid.points
        weights = projection.grid.root_weights[:, None]
        tolerance = misfit_loss(self.step_tolerance, projection.norm(target))
        parameters = vector.detach().clone().requires_grad_(True)

        def loss_at() -> torch.Tensor:
            output = torch.func.functional_call(network, _unflatten(network, parameters), (points,))
            return 0.5 * (weights * (output - target)).square().sum()

        taken = 0
        if self.optimizer == "adam":
            adam = torch.optim.Adam([parameters], lr=self.learning_rate)
            for taken in range(iterations):
                adam.zero_grad()
                loss = loss_at()
                value = float(loss.detach())
                if not math.isfinite(value) or value <= tolerance:
                    break
                loss.backward()
                adam.step()
            else:
                taken = iterations
        else:
            lbfgs = torch.optim.LBFGS([parameters], lr=1.0, max_iter=iterations, history_size=50,
                                      tolerance_grad=0.0, tolerance_change=0.0, line_search_fn="strong_wolfe")

            def closure() -> torch.Tensor:
                lbfgs.zero_grad()
                loss = loss_at()
                if float(loss.detach()) > tolerance:  # at the tolerance a zero gradient ends L-BFGS
                    loss.backward()
                else:
                    parameters.grad = torch.zeros_like(parameters)
                return loss

            lbfgs.step(closure)
            taken = lbfgs.state[parameters]["n_iter"]
        with torch.no_grad():
            loss = float(loss_at())
        return parameters.detach(), loss if math.isfinite(loss) else float("nan"), taken

    def _check_options(self) -> None:
        if self.optimizer not in ("adam", "lbfgs"):
            raise ValueError(f"optimizer must be 'adam' or 'lbfgs', got {self.optimizer!r}")
        check_ints(self, ("iterations", "heun_iterations"))
        if isinstance(self.learning_rate, bool) or not (isinstance(self.learning_rate, (int, float))
                                                        and math.isfinite(self.learning_rate)
                                                        and self.learning_rate > 0):
            raise ValueError(f"learning_rate must be a positive number, got {self.learning_rate!r}")
        unit_interval("step_tolerance", self.step_tolerance)
