r"""The space-time grid of the hard-constraint experts, and derivatives on it.

Nodes form a tensor grid of the problem's box, C order, time last. A spatial axis with a
:class:`~pde_lab.conditions.Periodic` condition has ``n`` nodes :math:`a + jL/n` (the end
point is the first node again) and is differentiated spectrally, exactly for the
trigonometric interpolant of the nodes; any other axis includes both ends and is
differentiated by second-order central differences, one-sided at the ends (the paper's
``gradient``). On a fully periodic space the zero-mean stream function
:math:`-\Delta\psi = w` is one FFT division per time level.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import torch

from pde_lab.conditions import Periodic
from pde_lab.problem import Problem

__all__ = ["SpaceTimeGrid", "periodic_axes"]


def periodic_axes(problem: Problem) -> tuple[bool, ...]:
    """Per spatial axis, whether every field is periodic along it."""
    periodic = [False] * problem.spatial_dim
    for condition in problem.boundary_conditions:
        if isinstance(condition, Periodic) and condition.field is None and condition.axis < problem.spatial_dim:
            periodic[condition.axis] = True
    return tuple(periodic)


@dataclass(frozen=True)
class SpaceTimeGrid:
    """The tensor grid of the space(-time) box: ``shape`` nodes, C order, time last."""

    problem: Problem
    shape: tuple[int, ...]

    # derived once per grid (the jets read them for every partial of every step)
    @cached_property
    def periodic(self) -> tuple[bool, ...]:
        """Per axis (space..., time): periodic or not."""
        return periodic_axes(self.problem) + ((False,) if self.problem.is_time_dependent else ())

    @cached_property
    def ends(self) -> list[tuple[float, float]]:
        lower, upper = (np.asarray(b, dtype=float) for b in self.problem.geometry.bounds)
        ends = list(zip(lower.tolist(), upper.tolist(), strict=True))
        if self.problem.is_time_dependent:
            ends.append(tuple(self.problem.time_span))
        return ends

    @cached_property
    def axes(self) -> tuple[np.ndarray, ...]:
        return tuple(np.linspace(a, b, n, endpoint=not periodic)
                     for (a, b), n, periodic in zip(self.ends, self.shape, self.periodic, strict=True))

    def points(self) -> np.ndarray:
        mesh = np.meshgrid(*self.axes, indexing="ij")
        return np.stack([m.reshape(-1) for m in mesh], axis=1)

    def jets(self, values: torch.Tensor, partials: Sequence[tuple[int, ...]]) -> dict:
        """Partials of ``values (b, n_nodes, N)`` on the grid: ``{axes: (b, n_nodes, N)}``, ``()`` the values."""
        from pde_lab.operators.pino import spectral_derivative

        b, n, N = values.shape
        grid = values.reshape(b, *self.shape, N)
        out = {(): values}
        for axes in partials:
            d = grid
            for axis in sorted(set(axes)):
                order = axes.count(axis)
                (a, c), periodic = self.ends[axis], self.periodic[axis]
                if periodic:
                    d = spectral_derivative(d, 1 + axis, order, c - a)
                else:
                    for _ in range(order):
                        (d,) = torch.gradient(d, spacing=float(self.axes[axis][1] - self.axes[axis][0]),
                                              dim=1 + axis, edge_order=2)
            out[axes] = d.reshape(b, n, N)
        return out

    def remove_spatial_mean(self, values: torch.Tensor) -> torch.Tensor:
        """``values (b, n_nodes, N)`` less their mean over space at each time level."""
        b, n, N = values.shape
        d = self.problem.spatial_dim
        grid = values.reshape(b, *self.shape, N)
        return (grid - grid.mean(dim=tuple(range(1, d + 1)), keepdim=True)).reshape(b, n, N)

    def stream_function(self, values: torch.Tensor) -> torch.Tensor:
        r"""Zero-mean :math:`\psi` with :math:`-\Delta\psi = w` per time level, for ``w`` = ``values (b, n_nodes, N)``."""
        from pde_lab.operators.pino import wavenumbers

        d = self.problem.spatial_dim
        if not all(self.periodic[:d]):
            raise ValueError("the stream function needs a space periodic along every axis")
        b, n, N = values.shape
        grid = values.reshape(b, *self.shape, N)
        dims = tuple(range(1, d + 1))
        k2 = 0.0
        for axis in range(d):
            (a, c), m = self.ends[axis], self.shape[axis]
            k = wavenumbers(m, c - a, False, values.device, values.dtype)
            if axis == d - 1:
                k = k[: m // 2 + 1].abs()  # rfftn's half axis
            k2 = k2 + k.reshape([len(k) if i == axis else 1 for i in range(d)] + [1] * (grid.dim() - 1 - d)) ** 2
        spectrum = torch.fft.rfftn(grid, dim=dims)
        symbol = torch.where(k2 == 0, torch.zeros_like(k2), 1.0 / torch.where(k2 == 0, torch.ones_like(k2), k2))
        psi = torch.fft.irfftn(spectrum * symbol, s=self.shape[:d], dim=dims)
        return psi.reshape(b, n, N)

    def interpolate(self, values: np.ndarray, points: np.ndarray) -> np.ndarray:
        """Node ``values (n_nodes,)`` or ``(n_nodes, c)`` at ``points (n, D)``: multilinear, clipped to the
        box along non-periodic axes; periodic axes wrap around (their last cell closes on the first node)."""
        from scipy.interpolate import RegularGridInterpolator

        values = np.asarray(values)
        grid = values.reshape(*self.shape, *values.shape[1:])
        axes, coordinates = [], []
        for axis, (nodes, periodic, (a, c)) in enumerate(zip(self.axes, self.periodic, self.ends, strict=True)):
            x = points[:, axis]
            if periodic:
                nodes = np.append(nodes, c)
                grid = np.concatenate([grid, np.take(grid, [0], axis=axis)], axis=axis)
                x = a + np.mod(x - a, c - a)
            axes.append(nodes)
            coordinates.append(np.clip(x, nodes[0], nodes[-1]))
        return RegularGridInterpolator(tuple(axes), grid)(np.stack(coordinates, axis=1))
