r"""Basis networks for PI-HC-MoE: what maps an instance's initial data to :math:`N` basis functions.

Both backbones give the basis on the experts' space-time grid, ``(batch, n_nodes, N)`` in
the grid's C order (time last), which is where the constraint rows and the loss live.

- :class:`PointBasis`: an MLP :math:`b_\theta(x, t; z)` of the coordinates and the initial
  data :math:`z = u_0(s_1..s_S)` at ``S`` sensor points. It can be evaluated anywhere.
- :class:`GridBasis`: the paper's backbone, a Fourier neural operator on the grid whose input
  channel is :math:`u_0(x)` broadcast over time (the FNO appends the grid coordinates and
  pads only the non-periodic axes), so :math:`b = \mathrm{FNO}_\theta(u_0 \otimes 1_t, x, t)`.
  Defined on the grid only; the constrained field is read between nodes by multilinear
  interpolation.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from pde_lab.hard_constraints.grid import SpaceTimeGrid
from pde_lab.problem import Problem

__all__ = ["GridBasis", "PointBasis", "fno_backbone"]


def _initial_values(problem: Problem, points: np.ndarray, dtype: torch.dtype) -> torch.Tensor:
    """The first field's initial data at ``points``, on the host (the code moves with the batch)."""
    value = torch.as_tensor(problem.initial_condition(torch.as_tensor(points, dtype=dtype, device="cpu")),
                            dtype=dtype, device="cpu")
    value = (value[:, 0] if value.ndim == 2 else value).reshape(-1)  # the first field's
    return value if value.numel() == len(points) else value.expand(len(points))


class PointBasis(nn.Module):
    """MLP basis :math:`b_\\theta(x, t; z)`; ``network`` maps ``(D + S)`` inputs to ``N`` outputs,
    ``nodes (n_nodes, D)`` are the grid's (``Experts.points``)."""

    def __init__(self, network: nn.Module, nodes: np.ndarray, sensors: np.ndarray) -> None:
        super().__init__()
        self.network, self.sensors, self.nodes = network, np.asarray(sensors, dtype=float), nodes

    def encode(self, problem: Problem, dtype: torch.dtype) -> torch.Tensor:
        """The code ``z``: the initial data at the sensors, ``(S,)``."""
        return _initial_values(problem, self.sensors, dtype)

    def at(self, points: torch.Tensor, codes: torch.Tensor) -> torch.Tensor:
        """Basis functions at ``points (n, D)`` for each code ``(b, S)``: ``(b, n, N)``."""
        b, n = codes.shape[0], points.shape[0]
        inputs = torch.cat([points.expand(b, n, -1), codes[:, None, :].expand(b, n, codes.shape[1])], dim=2)
        return self.network(inputs.reshape(b * n, -1)).reshape(b, n, -1)

    def forward(self, codes: torch.Tensor) -> torch.Tensor:
        """The basis on the grid nodes, ``(b, n_nodes, N)``."""
        return self.at(torch.as_tensor(self.nodes, dtype=codes.dtype, device=codes.device), codes)


class GridBasis(nn.Module):
    """FNO basis on the space-time grid (Chalapathi et al.: 5 Fourier layers, 8 × 8 modes, width 64).

    ``network`` is an :class:`~pde_lab.operators.fno.FNO` over the grid's axes with one input
    channel (the initial data) and ``N`` output channels.
    """

    def __init__(self, network: nn.Module, grid: SpaceTimeGrid) -> None:
        super().__init__()
        if getattr(network, "dim", None) != len(grid.shape):
            raise ValueError(f"the FNO needs {len(grid.shape)} grid axes (space..., time), got {getattr(network, 'dim', None)}")
        self.network, self.shape = network, grid.shape
        mesh = np.meshgrid(*grid.axes[:-1], indexing="ij")
        self.space_nodes = np.stack([m.reshape(-1) for m in mesh], axis=1)

    def encode(self, problem: Problem, dtype: torch.dtype) -> torch.Tensor:
        """The code: the initial data at the grid's spatial nodes, ``(n_space,)``."""
        return _initial_values(problem, self.space_nodes, dtype)

    at = None  # grid only: read the constrained field with SpaceTimeGrid.interpolate

    def forward(self, codes: torch.Tensor) -> torch.Tensor:
        """The basis on the grid nodes, ``(b, n_nodes, N)``."""
        b = codes.shape[0]
        field = codes.reshape(b, *self.shape[:-1], 1, 1).expand(b, *self.shape, 1)
        return self.network(field).reshape(b, int(np.prod(self.shape)), -1)


def fno_backbone(grid: SpaceTimeGrid, out_channels: int, modes: int | Sequence[int], width: int,
                 layers: int, dtype: torch.dtype) -> GridBasis:
    """The paper's FNO backbone (projection width 128, GELU, non-periodic axes zero-padded)."""
    from pde_lab.operators.fno import FNO

    d = len(grid.shape)
    modes = (modes,) * d if isinstance(modes, int) else tuple(modes)
    network = FNO(1, out_channels, modes, width, n_layers=layers, projection=128, periodic=grid.periodic, dtype=dtype)
    return GridBasis(network, grid)
