r"""The least-squares projection of TENG (:mod:`pde_lab.solvers.teng`) onto its network, on a fixed grid.

:math:`\min_\theta \tfrac12 \sum_j q_j (u_\theta(x_j) - \hat u(x_j))^2` by Gauss–Newton
(:func:`pde_lab.natural_gradient.gauss_newton`), with the network's closed-form Jacobian, and
the rate :math:`F[u_\theta]` on the grid. Each iteration evaluates the small network a few
times, so the per-call overheads are kept down: a vector already loaded is not loaded again,
the Jacobian reuses the activations of the line search's accepted trial, and it is written
into one buffer that lives as long as the projection.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from pde_lab.problem import Problem
from pde_lab.solvers.teng_network import TENGNetwork

__all__ = ["Grid", "Projection"]


@dataclass
class Grid:
    """TENG's fixed sample points and the square roots of their quadrature weights."""

    points: torch.Tensor  # (N, d)
    root_weights: torch.Tensor  # sqrt(q_j), (N,)


class Projection:
    """The least-squares projection of a target onto the network, on a fixed grid."""

    #: Gauss–Newton's line search stops halving once a step gains this fraction of the linear
    #: model's decrease (:func:`~pde_lab.natural_gradient.gauss_newton`'s ``accept_ratio``).
    accept_ratio = 0.5

    #: How many recent :meth:`values` keep their activations for :meth:`jacobian` (a line search's trials).
    remembered = 8

    def __init__(self, network: TENGNetwork, grid: Grid, generator: torch.Generator, subset_sizes) -> None:
        self.network, self.grid, self.generator, self.subset_sizes = network, grid, generator, tuple(subset_sizes)
        self._first = next(network.parameters())
        self._outputs = network.layers[-1].out_features
        self._row_weights = grid.root_weights.repeat_interleave(self._outputs)[:, None]  # the Jacobian's rows
        self._buffer: torch.Tensor | None = None  # the Jacobian's, reused between iterations
        self._recent: list[tuple[torch.Tensor, list[torch.Tensor]]] = []  # (vector, activations), newest last
        #: The truncated SVD's first sketch width, carried from one fit to the next (and checkpointed): a fit
        #: whose Jacobians have near-full rank (TENG 2D) then skips the sketches that the last one found too narrow.
        self.sketch_rank = 64

    def load(self, vector: torch.Tensor) -> None:
        """Load ``vector`` into the network unless it is loaded already. Loading makes the parameters
        views of ``vector`` (:func:`torch.nn.utils.vector_to_parameters`), so the first parameter's data
        pointer tells; Gauss–Newton never changes a vector in place."""
        from pde_lab.natural_gradient import load_parameters

        if self._first.data_ptr() != vector.data_ptr():  # a converted copy never shares it
            load_parameters(self.network, vector)

    def values(self, vector: torch.Tensor) -> torch.Tensor:
        """:math:`u_\theta` at the grid points, ``(N, n_fields)``; loads ``vector`` into the network (as
        :meth:`jacobian` and :meth:`rate` do: 25% faster than a ``functional_call`` on 512 points) and
        remembers the activations, so that the Jacobian at an accepted line-search trial costs no
        second forward pass."""
        self.load(vector)
        with torch.no_grad():
            output, activations = self.network.forward_activations(self.grid.points)
        self._recent = [*self._recent[1 - self.remembered:], (vector, activations)]
        return output

    def norm(self, values: torch.Tensor) -> float:
        """Quadrature L2 norm on the grid."""
        return float((self.grid.root_weights[:, None] * values).square().sum().sqrt())

    def residuals(self, target: torch.Tensor):
        weights = self.grid.root_weights[:, None]
        return lambda vector: (weights * (self.values(vector) - target)).reshape(-1)

    def jacobian(self, vector: torch.Tensor, columns: torch.Tensor | None) -> torch.Tensor:
        """The weighted Jacobian at ``vector`` (:meth:`TENGNetwork.jacobian`, closed form), in a buffer that
        the next call overwrites: Gauss–Newton uses each Jacobian within its iteration only."""
        self.load(vector)
        activations = next((a for v, a in reversed(self._recent) if v is vector), None)
        size = (vector.numel() if columns is None else len(columns)) * self.grid.points.shape[0] * self._outputs
        if self._buffer is None or self._buffer.numel() < size:
            self._buffer = vector.new_empty(size)
        jacobian = self.network.jacobian(self.grid.points, columns, activations, self._buffer)
        return jacobian.mul_(self._row_weights)

    def rate(self, problem: Problem, vector: torch.Tensor, t: float) -> torch.Tensor:
        """:math:`F[u_\\theta]` at the grid points and time ``t``, ``(N, n_fields)``."""
        from pde_lab.fields import Fields, as_field_tuple

        self.load(vector)
        d = self.grid.points.shape[1]
        points = torch.cat([self.grid.points, torch.full_like(self.grid.points[:, :1], t)], dim=1).requires_grad_(True)
        f = Fields(lambda xt: self.network(xt[:, :d]), points, problem.fields, problem.coordinate_names)
        rates = as_field_tuple(problem.rate(f, problem.parameters), problem.fields)
        n = len(points)
        return torch.stack([r.expand(n) if r.numel() == 1 else r for r in rates], dim=1).detach()

    def fit(self, target: torch.Tensor, vector: torch.Tensor, iterations: int, rcond: float | None = None,
            tolerance: float = 0.0, stall: tuple[int, float, float] | None = None):
        from pde_lab.natural_gradient import gauss_newton

        result = gauss_newton(self.residuals(target), self.jacobian, vector, iterations=iterations,
                              tolerance=tolerance, subset_sizes=self.subset_sizes, rcond=rcond,
                              line_search=6 if rcond else 0, accept_ratio=self.accept_ratio if rcond else 0.0,
                              stall=stall, generator=self.generator, sketch_rank=self.sketch_rank)
        self.sketch_rank = result.sketch_rank
        return result
