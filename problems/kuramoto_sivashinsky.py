r"""Kuramoto–Sivashinsky, the two settings of the causal-PINN paper (Wang et al. 2022).

.. math::

    u_t = -\alpha\,u\,u_x - \beta\,u_{xx} - \gamma\,u_{xxxx}, \qquad \text{periodic in } x.

* ``"regular"``: :math:`\alpha = 5,\ \beta = 0.5,\ \gamma = 0.005` on :math:`x \in [-1, 1]`,
  :math:`u_0 = -\sin(\pi x)`, :math:`t \in [0, 1]`.
* ``"chaotic"``: :math:`\alpha = 100/16,\ \beta = 100/16^2,\ \gamma = 100/16^4` on
  :math:`x \in [0, 2\pi]`, :math:`u_0 = \cos x\,(1 + \sin x)`, :math:`t \in [0, 1]`.

Reference: Fourier pseudo-spectral ETDRK4 (Kassam & Trefethen 2005) on 512 points with
:math:`\Delta t = 10^{-4}`; the scheme with N = 511, Δt = 1e-5 reproduces the paper's data to
1e-11, and Δt = 1e-4 differs from that by about 1e-7.
"""

from __future__ import annotations

import math

import torch

from geometries import Interval
from pde_lab import Periodic, Problem
from pde_lab.validation import check_positive

SETTINGS = {
    "regular": dict(alpha=5.0, beta=0.5, gamma=0.005, lower=-1.0, upper=1.0),
    "chaotic": dict(alpha=100 / 16, beta=100 / 16**2, gamma=100 / 16**4, lower=0.0, upper=2 * math.pi),
}


def _initial(setting: str):
    if setting == "regular":
        return lambda x: -torch.sin(math.pi * x[:, 0])
    return lambda x: torch.cos(x[:, 0]) * (1 + torch.sin(x[:, 0]))


def kuramoto_sivashinsky(setting: str = "regular", t_final: float = 1.0, resolution: int = 512,
                         dt: float = 1e-4) -> Problem:
    """KS in the causal-PINN paper's ``"regular"`` or ``"chaotic"`` setting; spectral reference."""
    if setting not in SETTINGS:
        raise ValueError(f"unknown setting {setting!r}; use one of {sorted(SETTINGS)}")
    check_positive("t_final", t_final)
    values = SETTINGS[setting]

    def reference(problem: Problem):
        from pde_lab.solvers.reference.spectral import Spectral

        return Spectral(n=resolution, dt=dt).solve(problem)

    return Problem(
        name="kuramoto-sivashinsky" if setting == "regular" else "kuramoto-sivashinsky-chaotic",
        geometry=Interval(values["lower"], values["upper"]),
        time_span=(0.0, float(t_final)),
        rate=lambda f, p: -p.alpha * f.u * f.u_x - p.beta * f.u_xx - p.gamma * f.u_xxxx,
        initial_condition=_initial(setting),
        boundary_conditions=(Periodic(0),),
        parameters={k: values[k] for k in ("alpha", "beta", "gamma")},
        reference_solver=reference,
        description=f"u_t = -α u u_x - β u_xx - γ u_xxxx, periodic ({setting} setting); spectral reference",
    )


def kuramoto_sivashinsky_chaotic(t_final: float = 1.0) -> Problem:
    """The chaotic setting (for the CLI, which passes no positional arguments)."""
    return kuramoto_sivashinsky("chaotic", t_final=t_final)
