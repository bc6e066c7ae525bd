r"""The solution of a time stepper that stores one parameter vector per step (TENG).

Between step times the field interpolates in time through the networks at the four nearest
step times (cubic Lagrange; the stencil shifts inwards at the ends, and fewer than four steps
give the polynomial through all of them): exact at the step times, with error
:math:`O(\Delta t^4 \max|\partial_t^4 u|)`. A linear interpolation (the first version) has error
:math:`\le \Delta t^2 \max|u_{tt}|/8`, which hid a fourth-order scheme's accuracy between steps:
on Kuramoto–Sivashinsky to t = 0.02 with ETDRK4 at dt = 4e-3, 1.7e-6 at the last step against
4.1e-4 over space-time.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

__all__ = ["TimeSeriesField"]

#: Step times the interpolation runs through (4: cubic).
STENCIL = 4


class TimeSeriesField:
    """Evaluates the stored step networks, interpolated in time (cubic) between step times."""

    def __init__(self, network: nn.Module, snapshots: torch.Tensor, t0: float, dt: float) -> None:
        self.network, self.snapshots, self.t0, self.dt = network, snapshots, t0, dt
        self.times = t0 + dt * np.arange(len(snapshots))

    def network_at(self, index: int, space: np.ndarray) -> np.ndarray:
        from pde_lab.natural_gradient import pointwise_values

        vector = self.snapshots[index]
        points = torch.as_tensor(space, dtype=vector.dtype, device=vector.device)
        return pointwise_values(self.network, lambda net, x: net(x), vector, points).double().cpu().numpy()

    def __call__(self, points: np.ndarray) -> np.ndarray:
        space, t = points[:, :-1], points[:, -1]
        out = np.full((len(points), self.network.layers[-1].out_features), np.nan)
        position = (t - self.t0) / self.dt
        last = len(self.snapshots) - 1
        tolerance = 1e-9 * max(1.0, last)
        position = np.where(np.abs(position - np.round(position)) < tolerance, np.round(position), position)
        inside = (position >= 0) & (position <= last)
        on_step = inside & (position == np.round(position))
        for k in np.unique(position[on_step]).astype(int):  # at a step time: that step's network
            mask = on_step & (position == k)
            out[mask] = self.network_at(k, space[mask])
        between = inside & ~on_step
        size = min(STENCIL, last + 1)
        first = np.clip(np.floor(position) - (size // 2 - 1), 0, last + 1 - size).astype(int)
        for start in np.unique(first[between]):
            mask = between & (first == start)
            nodes = np.arange(start, start + size)
            s = position[mask]
            values = 0.0
            for j in nodes:  # Lagrange basis polynomial of node j at s
                others = nodes[nodes != j]
                weight = np.prod((s[:, None] - others) / (j - others), axis=1)
                values = values + weight[:, None] * self.network_at(int(j), space[mask])
            out[mask] = values
        return out
