r"""The convection–diffusion split of an evolution problem, for Lagrangian solvers.

Many evolution problems are scalar convection–diffusion equations

.. math::

    u_t + a(u, x, t) \cdot \nabla u = D(u, x, t)\, \Delta u ,

with velocity :math:`a` and diffusivity :math:`D` (linear advection: :math:`a = \beta`,
:math:`D = 0`; Burgers: :math:`a = u`, :math:`D = \nu`). A :class:`Transport` attached to a
:class:`~pde_lab.problem.Problem` (``transport=``) says which part of the problem's rate is
convection and which is diffusion. Lagrangian solvers (:mod:`pde_lab.solvers.lagrangian`)
read it to follow the characteristics :math:`dX/dt = a`; every other solver ignores it and
keeps using the rate.

Both parts are written like the rate, as functions of the fields ``f`` and the parameters
``p``; they may read field values and coordinates (``f.u``, ``f.x``, ``f.t``) but no
derivatives, since a Lagrangian solver evaluates them on moving points.

>>> burgers_split = Transport(velocity=lambda f, p: (f.u,), diffusion=lambda f, p: p.nu)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pde_lab.validation import check_non_negative

if TYPE_CHECKING:
    from pde_lab.fields import Fields
    from pde_lab.problem import Parameters

__all__ = ["Transport", "check_consistent"]


@dataclass(frozen=True)
class Transport:
    r"""Velocity and diffusivity of :math:`u_t + a \cdot \nabla u = D \Delta u`.

    Parameters
    ----------
    velocity
        ``(f, p) -> (a_1, ..., a_d)``, one component per spatial axis; each a number or an
        ``(n,)`` tensor.
    diffusion
        The diffusivity :math:`D \ge 0`: a number, or ``(f, p) -> number or (n,) tensor``
        (e.g. ``lambda f, p: p.nu`` so that it follows ``Problem.with_parameters``).
    """

    velocity: Callable[[Fields, Parameters], Any]
    diffusion: float | Callable[[Fields, Parameters], Any] = 0.0

    def __post_init__(self) -> None:
        if not callable(self.velocity):
            raise TypeError(f"Transport.velocity must be a callable (f, p) -> tuple, got {type(self.velocity).__name__}")
        if not callable(self.diffusion):
            if isinstance(self.diffusion, bool) or not isinstance(self.diffusion, (int, float)):
                raise TypeError(
                    f"Transport.diffusion must be a number or a callable (f, p), got {type(self.diffusion).__name__}"
                )
            check_non_negative("Transport.diffusion", self.diffusion)

    def velocities(self, f: Fields, p: Parameters, dim: int) -> tuple[Any, ...]:
        """The velocity components at ``f``'s points, each broadcast to ``(n,)``."""
        import torch

        components = self.velocity(f, p)
        if not isinstance(components, (tuple, list)):
            components = (components,)
        if len(components) != dim:
            raise ValueError(f"Transport.velocity returned {len(components)} components for {dim} spatial dimensions")
        return tuple(_broadcast(torch, c, f.points) for c in components)

    def diffusivity(self, f: Fields, p: Parameters) -> Any:
        """The diffusivity at ``f``'s points, ``(n,)``."""
        import torch

        value = self.diffusion(f, p) if callable(self.diffusion) else self.diffusion
        return _broadcast(torch, value, f.points)

    def rate(self, f: Fields, p: Parameters) -> Any:
        r"""The rate this split implies, :math:`-a \cdot \nabla u + D \Delta u`, for one field."""
        name = f.names[0]
        gradient = f.grad(name)
        velocity = self.velocities(f, p, gradient.shape[1])
        convection = sum(a * gradient[:, i] for i, a in enumerate(velocity))
        return -convection + self.diffusivity(f, p) * f.lap(name)


def _broadcast(torch: Any, value: Any, points: Any) -> Any:
    tensor = torch.as_tensor(value, dtype=points.dtype, device=points.device)
    return tensor.reshape(-1).expand(points.shape[0]) if tensor.numel() == 1 else tensor.reshape(-1)


def check_consistent(problem: Any, n_points: int = 64, tolerance: float = 1e-8) -> None:
    r"""Raise ``ValueError`` unless ``problem.rate`` equals the rate its transport implies.

    Both are evaluated, in float64, on a fixed random smooth function (a small seeded tanh
    network, with the global RNG untouched) at seeded points of the space-time cylinder;
    they must agree to ``tolerance`` relative to their size.
    """
    import numpy as np
    import torch

    from pde_lab.fields import Fields

    if problem.transport is None:
        raise ValueError(f"problem {problem.name!r} declares no transport (convection/diffusion split)")
    if len(problem.fields) != 1:
        raise ValueError(f"a transport split describes one scalar field; problem {problem.name!r} has {problem.fields}")
    generator = torch.Generator().manual_seed(7)
    points = torch.as_tensor(problem.geometry.sample_space_time(n_points, problem.time_span, method="uniform", seed=7),
                             dtype=torch.float64)
    lower = torch.as_tensor(np.append(problem.geometry.bounds[0], problem.time_span[0]), dtype=torch.float64)
    upper = torch.as_tensor(np.append(problem.geometry.bounds[1], problem.time_span[1]), dtype=torch.float64)
    width = problem.input_dim
    w1 = torch.randn(width, 16, generator=generator, dtype=torch.float64)
    w2 = torch.randn(16, 1, generator=generator, dtype=torch.float64) / 4

    def function(x: torch.Tensor) -> torch.Tensor:
        return torch.tanh((2 * (x - lower) / (upper - lower) - 1) @ w1) @ w2

    def fields() -> Fields:
        return Fields(function, points.clone().requires_grad_(True), problem.fields, problem.coordinate_names)

    from pde_lab.fields import as_field_tuple

    (declared,) = as_field_tuple(problem.rate(fields(), problem.parameters), problem.fields)
    implied = problem.transport.rate(fields(), problem.parameters)
    scale = float(declared.detach().abs().max()) + float(implied.detach().abs().max()) + 1e-300
    gap = float((declared - implied).detach().abs().max())
    if not gap <= tolerance * scale:
        raise ValueError(
            f"problem {problem.name!r}: its rate is not -a·∇u + DΔu of its transport (largest difference "
            f"{gap:.3g} on a test function); fix Problem.transport or the rate"
        )
