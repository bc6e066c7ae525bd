r"""The solution of a time stepper that stores one parameter vector per step (TENG).

Between step times the field interpolates linearly in time between the networks at the two
neighbouring steps: exact at the step times, with error :math:`\le \Delta t^2 \max|u_{tt}|/8`.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

__all__ = ["TimeSeriesField"]


class TimeSeriesField:
    """Evaluates the stored step networks, linearly interpolated in time between step times."""

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
        index = np.clip(np.floor(position), 0, max(last - 1, 0)).astype(int)
        weight = position - index
        for k in np.unique(index[inside]):
            mask = inside & (index == k)
            values = self.network_at(k, space[mask])
            upper = mask & (weight > 0)
            if upper.any():
                later = self.network_at(k + 1, space[upper])
                w = weight[upper][:, None]
                values[weight[mask] > 0] = (1 - w) * values[weight[mask] > 0] + w * later
            out[mask] = values
        return out
