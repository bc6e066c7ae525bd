r"""TENG: Time-Evolving Natural Gradient (Chen, McCarran, Vizcaino, Soljačić & Luo, ICML 2024).

A network :math:`u_\theta(x)` holds the solution at the current time. A step from
:math:`t_n` to :math:`t_{n+1} = t_n + \Delta t` of :math:`u_t = F[u]` picks a target in
function space and projects it back onto the network by least squares:

.. math::

    \theta_{n+1} = \arg\min_\theta \tfrac12 \sum_j q_j \bigl(u_\theta(x_j) - \hat u(x_j)\bigr)^2,
    \qquad \hat u = u_{\theta_n} + \Delta t\, F[u_{\theta_n}] \quad \text{(TENG-Euler)},

and for TENG-Heun a second stage from the Euler result :math:`\tilde\theta`,
:math:`\hat u = u_{\theta_n} + \tfrac{\Delta t}{2}\bigl(F[u_{\theta_n}] + F[u_{\tilde\theta}]\bigr)`.
Each stage runs Gauss–Newton (natural-gradient) iterations, warm-started from the previous
parameters: :math:`\delta_S = \operatorname{lstsq}(\sqrt q\,J_S,\ \sqrt q\,(\hat u - u_\theta))`
on a random parameter subset :math:`S` redrawn every iteration (1536 columns, then 1024), no
learning rate, no damping; 7 iterations for the Euler stage, 5 for Heun's second
(:mod:`pde_lab.natural_gradient`). One safeguard beyond the paper (see ``rcond``): the
step drops the singular values of :math:`J_S` below 1e-6 relative and is halved while
halving helps, or until it gains half the decrease the linearisation predicts; the SVD is a
randomized low-rank one, since :math:`J_S` has only 30–150 singular values above 1e-15 relative.
Optionally a stage stops once its fit is good enough (``step_tolerance``) or stops
improving (``stall_ratio``). For stiff rates (a fourth-order term, as in Kuramoto–Sivashinsky)
the targets can instead be exponential ones, which treat the linear part exactly
(``scheme="etd1"``, ``"etd2"``, ``"etdrk4"``). Everything in float64. :math:`F` is the problem's own ``rate``,
evaluated on the network through :class:`~pde_lab.fields.Fields`
(:class:`~pde_lab.solvers.teng_projection.Projection`).

The sample grid, the network (the paper's ``SimplePDENet3``, with exact periodic / homogeneous
Dirichlet structure), the initial fit to :math:`u_0` and the step loop are shared with the
baselines the paper compares TENG with, OBTI and TDVP (:mod:`pde_lab.solvers.evolution`).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from pde_lab.solvers.evolution import EvolutionState, NetworkEvolution, misfit_loss, unit_interval
from pde_lab.solvers.teng_network import TENGNetwork
from pde_lab.solvers.teng_projection import Projection
from pde_lab.solvers.time_series_field import TimeSeriesField
from pde_lab.validation import check_ints

__all__ = ["TENG", "TENGNetwork", "TENGState", "TimeSeriesField"]


@dataclass(frozen=True)
class TENG(NetworkEvolution):
    """Time-Evolving Natural Gradient for periodic / homogeneous-Dirichlet evolution problems.

    Parameters
    ----------
    scheme
        ``"heun"`` (second order) or ``"euler"`` (first order), the paper's; or, beyond the
        paper, the exponential ``"etdrk4"`` (Cox–Matthews, fourth order, four stages),
        ``"etd2"`` (ETD2RK, second order) or ``"etd1"`` (exponential Euler), which integrate the
        rate's linear constant-coefficient part exactly (:mod:`pde_lab.solvers.exponential_targets`;
        every axis periodic). Explicit targets are unstable for stiff linear terms at any practical
        step: on Kuramoto–Sivashinsky at t = 0.02 with dt = 1e-3, Heun is off by 0.17 and ETD2
        by 2.6e-5; at dt = 0.006, ETD2 by 1.2e-3 and ETDRK4 by 9.0e-6.
    dt
        Time step; shortened so that it divides the time span (paper: 0.005).
    width, hidden_layers
        The network: ``width`` embedding features (split over the axes), then
        ``hidden_layers`` tanh layers of ``width`` (paper: 40 and 5, 8,361 parameters in 2D).
    points_per_axis
        Sample grid nodes per axis; ``None``: 1024 (1D), 256 (2D, the paper's code), 48 (3D).
    iterations, heun_iterations
        Gauss–Newton iterations of the Euler (first) stage and of Heun's second (the paper: 7
        and 5). With small subsets of a small network, nonlinear rates need more: Allen–Cahn
        and Burgers 2D (1,341 parameters, 512/384-column subsets) fit their first steps 1000×
        better with 20 and 15, and their error at t = 0.1 is 24× (Allen–Cahn) and 90× (Burgers)
        smaller (``pde_lab.bench.teng.NONLINEAR_2D``).
    subset_sizes
        Random parameter subset per iteration, first then later (1536, 1024); ``None`` in
        the tuple means every parameter.
    step_tolerance
        A stage stops before its ``iterations`` once the relative L2 misfit to its target is
        at most this (0, the paper: no early stop). With a generous iteration count
        it spends Gauss–Newton iterations where the solution is hard to follow (a forming
        shock) and few where it is smooth. Where the dynamics amplify small changes
        (Kuramoto–Sivashinsky's unstable modes grow 40× by t = 0.4), bound every stage this way:
        ``pde_lab.bench.teng_stiff.KS_1D`` fits each ETDRK4 stage to 1e-10 (up to 50 iterations,
        ``rcond`` 1e-9), where 7 + 5 iterations left single stages at 1e-5 to 1e-4.
    stall_ratio, stall_misfit
        A stage whose relative misfit is at most ``stall_misfit`` also stops once two
        iterations together leave its loss above ``stall_ratio`` times where it was (0, the
        paper: never): the fit has reached the network's floor. On 1D Burgers a stage falls to
        such a floor (a relative misfit of 3e-8 to 8e-8) within 2–4 iterations where the
        solution is smooth, and stays there, while ``step_tolerance`` 1e-8 is almost never met.
        Without the gate the rule also stops stages where the front forms, whose progress
        under random subsets is uneven, and costs accuracy (``pde_lab.bench.teng.BURGERS_1D``).
    fit_iterations, fit_tolerance, fit_subset_size, fit_rcond
        Initial fit to :math:`u_0`: at most ``fit_iterations`` Gauss–Newton steps with a
        line search (then Levenberg–Marquardt once they stall), until the relative L2 misfit
        on the grid is below ``fit_tolerance``; subset per step (``None``: all parameters).
    rcond
        Relative singular-value cutoff(s) of the least-squares solves in the steps. The
        paper's code uses NumPy's default (``eps * max(m, n)``) with its 8,361-parameter
        network; on the small networks affordable on a CPU the Jacobian's spectrum decays to
        ~1e-18, and such a step can leave the region where the linearisation holds, while a
        fixed coarse cutoff stops the fit short of machine precision. A tuple takes one
        (randomized) SVD per iteration; the default drops singular values below 1e-6 relative
        and shortens the step by halving while that lowers the loss (a truncated Gauss–Newton
        step is a descent direction, so some length always helps). Several cutoffs compete at
        the full step length, which favours the coarsest: of (1e-12, 1e-9, 1e-6), 1e-6 won
        every iteration measured (840 of 840 on 1D Burgers; heat 2D gave the same result to
        the last digit), while the finer SVD cost half of each iteration. A number gives one
        plain ``lstsq`` solve with the same safeguard, ``None`` the paper's unguarded full step.
    dtype, device, seed, progress, cpu_threads
        As for :class:`~pde_lab.solvers.pinn.PINN`; TENG needs ``float64``.
    """

    scheme: str = "heun"
    iterations: int = 7
    heun_iterations: int = 5
    subset_sizes: tuple[int | None, ...] = (1536, 1024)
    step_tolerance: float = 0.0
    stall_ratio: float = 0.0
    stall_misfit: float = 1.0
    rcond: float | tuple[float, ...] | None = (1e-6,)

    name = "teng"

    def _subset_sizes(self) -> tuple[int | None, ...]:
        return self.subset_sizes

    def step(self, state: EvolutionState) -> EvolutionState:
        """One TENG step of ``dt`` from ``state``; the loss is the last stage's least-squares loss, the
        iterations those of all stages."""
        return self._target_step(state, self._stage)

    def _stage(self, projection: Projection, target: torch.Tensor, vector: torch.Tensor,
               iterations: int) -> tuple[torch.Tensor, float, int]:
        """Gauss–Newton on one stage's target, with its early stops (``step_tolerance``, ``stall_ratio``):
        the parameters, their loss (NaN if the fit broke down) and the iterations taken."""
        norm = projection.norm(target)
        stall = (2, self.stall_ratio, misfit_loss(self.stall_misfit, norm)) if self.stall_ratio else None
        result = projection.fit(target, vector, iterations, self.rcond, misfit_loss(self.step_tolerance, norm), stall)
        return result.vector, result.loss if result.finite else float("nan"), result.iterations

    def _check_options(self) -> None:
        for name in ("step_tolerance", "stall_ratio"):
            unit_interval(name, getattr(self, name))
        if isinstance(self.stall_misfit, bool) or not (isinstance(self.stall_misfit, (int, float))
                                                       and self.stall_misfit > 0):
            raise ValueError(f"stall_misfit must be a positive number, got {self.stall_misfit!r}")
        check_ints(self, ("iterations", "heun_iterations"))


#: The state of a TENG integration (the shared :class:`~pde_lab.solvers.evolution.EvolutionState`).
TENGState = EvolutionState
