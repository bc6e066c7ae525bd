r"""TDVP: the time-dependent variational principle, TENG's baseline (Dirac–Frenkel; EDNN, Neural Galerkin).

The network :math:`u_\theta(x)` holds the solution of :math:`u_t = F[u]`. Instead of projecting
a target after each step (TENG), TDVP projects the *rate*: the parameters move with

.. math::

    \dot\theta = \arg\min_{\eta} \tfrac12 \sum_j q_j \bigl(J(x_j)\,\eta - F[u_\theta](x_j)\bigr)^2
             = J_q^{+} F_q, \qquad J(x) = \partial u_\theta(x)/\partial\theta,

a linear least-squares problem over *all* parameters on the fixed grid (weights :math:`q_j`),
and this ODE for :math:`\theta` is integrated by an explicit Runge–Kutta method (the TENG paper
compares with TDVP-RK4). :math:`J_q` is rank-deficient and ill-conditioned, so the
pseudo-inverse drops singular values below ``rcond`` relative
(:func:`~pde_lab.natural_gradient.least_squares`: LAPACK ``gelsd`` on the CPU, 3× faster here
than a thin SVD or a randomized one, since :math:`J_q` keeps about 550 of 1,341 singular values
above 1e-8 relative on the 2D benchmarks). The part of :math:`F` outside the range of
:math:`J` is lost at every stage; that projection defect, :math:`\tfrac12\Delta t^2\,\lVert
J_q\dot\theta - F_q\rVert^2` (the least-squares loss it adds to one step, in the units of
TENG's step loss), is the step loss reported.

The network, grid, initial fit and step loop are TENG's (:mod:`pde_lab.solvers.evolution`).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import ClassVar

import torch

from pde_lab.solvers.evolution import EvolutionState, NetworkEvolution

__all__ = ["TDVP"]

#: Butcher tableaux (a, b, c) of the explicit schemes: stage i evaluates at t + c_i dt from
#: θ + dt Σ_k a_ik k_k, and the step is θ + dt Σ_i b_i k_i.
_TABLEAUX: dict[str, tuple[tuple[tuple[float, ...], ...], tuple[float, ...], tuple[float, ...]]] = {
    "euler": (((),), (1.0,), (0.0,)),
    "heun": (((), (1.0,)), (0.5, 0.5), (0.0, 1.0)),
    "rk4": (((), (0.5,), (0.0, 0.5), (0.0, 0.0, 1.0)), (1 / 6, 1 / 3, 1 / 3, 1 / 6), (0.0, 0.5, 0.5, 1.0)),
}


@dataclass(frozen=True)
class TDVP(NetworkEvolution):
    """Time-dependent variational principle: :math:`\\dot\\theta = J^+ F[u_\\theta]`, integrated by Runge–Kutta.

    Parameters
    ----------
    scheme
        ``"rk4"`` (the TENG paper's TDVP baseline), ``"heun"`` or ``"euler"``.
    rcond
        Singular values of the weighted Jacobian below ``rcond`` times the largest are dropped
        from :math:`J^+`. Too small and :math:`\\dot\\theta` follows the Jacobian's noise
        directions (large parameter velocities, a stiff ODE); too large and part of the rate
        is lost each stage. 1D heat (177 parameters, 128 points, RK4 to t = 1 at dt = 0.025):
        1e-4 gives 2.7e-5, 1e-6 7.3e-7, 1e-8 4.9e-9 (the initial fit's 4.8e-9), 1e-10 1.2e-7,
        1e-12 4.4e-4. As singular values cross the cutoff from one stage to the next,
        :math:`\\dot\\theta` is not smooth in :math:`\\theta`: Euler and Heun keep their orders
        1 and 2, while RK4's observed order is erratic (though far more accurate than Heun's).
    dt, width, hidden_layers, points_per_axis, fit_*, dtype, device, seed, progress, cpu_threads
        As for :class:`~pde_lab.solvers.teng.TENG`, whose network, grid and initial fit TDVP uses.
    """

    scheme: str = "rk4"
    rcond: float = 1e-8

    name = "tdvp"
    schemes: ClassVar[tuple[str, ...]] = tuple(_TABLEAUX)

    def step(self, state: EvolutionState) -> EvolutionState:
        """One Runge–Kutta step of :math:`\\dot\\theta = J^+F`; the loss is the largest stage's projection
        defect (times :math:`\\Delta t^2`), the iterations the number of stages (one solve each)."""
        a, b, c = _TABLEAUX[self.scheme]
        vector, t, dt = state.vector, state.t, self.dt
        slopes, defect = [], 0.0
        for row, shift in zip(a, c):
            stage = vector + dt * sum((w * k for w, k in zip(row, slopes) if w), torch.zeros_like(vector))
            slope, stage_defect = self.velocity(state, stage, t + shift * dt)
            slopes.append(slope)
            defect = max(defect, stage_defect)
        vector = vector + dt * sum(w * k for w, k in zip(b, slopes))
        return dataclasses.replace(state, vector=vector, t=t + dt, loss=0.5 * dt * dt * defect, iterations=len(b))

    def velocity(self, state: EvolutionState, vector: torch.Tensor, t: float) -> tuple[torch.Tensor, float]:
        """:math:`\\dot\\theta = J_q^+ F_q` at ``vector`` and time ``t``, and the defect
        :math:`\\lVert J_q\\dot\\theta - F_q\\rVert^2`."""
        from pde_lab.natural_gradient import least_squares

        projection = state.projection
        rate = projection.rate(state.problem, vector, t)
        rhs = (projection.grid.root_weights[:, None] * rate).reshape(-1)
        jacobian = projection.jacobian(vector, None)
        slope = least_squares(jacobian, rhs, rcond=self.rcond)
        defect = float((jacobian @ slope - rhs).square().sum())
        return slope, defect

    def _check_options(self) -> None:
        if isinstance(self.rcond, bool) or not (isinstance(self.rcond, (int, float)) and math.isfinite(self.rcond)
                                                and 0 < self.rcond < 1):
            raise ValueError(f"rcond must be a number in (0, 1), got {self.rcond!r}")
