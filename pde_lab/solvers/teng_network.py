r"""The network of TENG (the paper's ``SimplePDENet3``), used by :mod:`pde_lab.solvers.teng`.

Each coordinate is embedded: periodic axes as :math:`a_j\cos(2\pi(x_i - x_{lo})/L_i + \varphi_j) + c_j`,
exactly periodic; other axes as :math:`a_j \hat x_i + \varphi_j` with :math:`\hat x_i \in [-1, 1]`;
then tanh, ``hidden_layers`` × [Dense(``width``), tanh], Dense(fields), optionally times
:math:`\prod_i (1 - \hat x_i^2)` over non-periodic axes (exact homogeneous Dirichlet).

TENG evaluates this small network hundreds of thousands of times on a few hundred points, so
the per-operation cost of torch matters more than the arithmetic. The network therefore works
feature-major (activations ``(features, points)``: picking a Jacobian subset's columns is a row
gather, 4-8× cheaper than a column gather), and takes tanh as :math:`2\sigma(2z) - 1` (the same
function to ~2e-16; torch's float64 ``tanh`` costs 2-3× the logistic here).
"""

from __future__ import annotations

import itertools
import math

import torch
from torch import nn

__all__ = ["TENGNetwork"]


class TENGNetwork(nn.Module):
    """The coordinate-embedding tanh network of TENG, with exact periodic/Dirichlet structure."""

    def __init__(self, lower, upper, periodic: tuple[bool, ...], out_dim: int, width: int = 40,
                 hidden_layers: int = 5, hard_dirichlet: bool = False) -> None:
        super().__init__()
        d = len(periodic)
        per_axis = max(1, width // d)
        self.amplitude = nn.Parameter(nn.init.trunc_normal_(torch.empty(d, per_axis), std=1.0, a=-2.0, b=2.0))
        self.phase = nn.Parameter(nn.init.trunc_normal_(torch.empty(d, per_axis), std=1.0, a=-2.0, b=2.0))
        n_periodic = sum(periodic)
        self.offset = nn.Parameter(nn.init.trunc_normal_(torch.empty(n_periodic, per_axis), std=1.0, a=-2.0, b=2.0))
        sizes = [d * per_axis] + [width] * hidden_layers + [out_dim]
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:], strict=True))
        for layer in self.layers:  # LeCun normal, zero bias (Flax's Dense default, as the paper's code)
            nn.init.normal_(layer.weight, std=1.0 / math.sqrt(layer.in_features))
            nn.init.zeros_(layer.bias)
        lower_t, upper_t = torch.as_tensor(lower, dtype=torch.float64), torch.as_tensor(upper, dtype=torch.float64)
        self.register_buffer("lower", lower_t)
        self.register_buffer("length", upper_t - lower_t)
        self.periodic, self.hard_dirichlet = tuple(bool(p) for p in periodic), bool(hard_dirichlet)

    def forward(self, points: torch.Tensor) -> torch.Tensor:
        return self.forward_activations(points)[0]

    def forward_activations(self, points: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """The output ``(n, out)`` and the input of every Dense layer (the tanh activations,
        feature-major ``(features, n)``), which :meth:`jacobian` reuses when given them."""
        features, bump = self._embed(points)
        activations = [_tanh(torch.cat([a * basis + c for a, basis, c, _ in features]))]
        for layer in self.layers[:-1]:
            activations.append(_tanh(torch.addmm(layer.bias[:, None], layer.weight, activations[-1])))
        last = self.layers[-1]
        return (torch.addmm(last.bias[:, None], last.weight, activations[-1]) * bump).T, activations

    def _embed(self, points: torch.Tensor):
        """Per axis ``(amplitude, basis, shift, d_phase)``, feature-major: the features
        ``amplitude * basis + shift`` ``(per_axis, n)`` and their derivative in the phase; and the bump
        factor ``(1, n)`` (ones without a hard Dirichlet condition)."""
        features, bump, j = [], points.new_ones(1, len(points)), 0
        for i, periodic in enumerate(self.periodic):
            x = (points[:, i] - self.lower[i]) / self.length[i]  # in [0, 1]
            if periodic:
                angle = 2 * math.pi * x + self.phase[i][:, None]
                features.append((self.amplitude[i][:, None], torch.cos(angle), self.offset[j][:, None],
                                 -self.amplitude[i][:, None] * torch.sin(angle)))
                j += 1
            else:
                centred = (2 * x - 1)[None, :]
                features.append((self.amplitude[i][:, None], centred, self.phase[i][:, None], torch.ones_like(centred)))
                if self.hard_dirichlet:
                    bump = bump * (1 - centred.square())
        return features, bump

    def jacobian(self, points: torch.Tensor, columns: torch.Tensor | None = None,
                 activations: list[torch.Tensor] | None = None, buffer: torch.Tensor | None = None) -> torch.Tensor:
        r""":math:`\partial u_a(x_i) / \partial \theta_c`, ``(n * out, |columns|)``, columns in ``parameters()`` order.

        Closed form, rows point-major as :func:`pde_lab.natural_gradient.pointwise_jacobian`:
        one forward pass (skipped when ``activations`` from :meth:`forward_activations` at the
        same parameters are given), then the sensitivity :math:`g_l = \partial u_a / \partial z_l`
        of every output to each layer's input :math:`z_l` (:math:`z_{l+1} = W_l \tanh(z_l) + b_l`),
        back-propagated for all points at once by matrix products, gives
        :math:`\partial u_a/\partial W_l = g_{l+1} \otimes \tanh(z_l)` and
        :math:`\partial u_a/\partial b_l = g_{l+1}`; the embedding's parameters follow from :math:`g_0`.
        Only the requested ``columns`` (sorted; ``None``: all) are formed, so a TENG subset
        costs :math:`O(n\,|S|)`, not :math:`O(n\,P)`. Each parameter's columns are written in
        place into one array: into ``buffer`` (flat, at least ``|columns| * out * n`` entries)
        when given, which a Gauss–Newton loop reuses; a fresh array of the Jacobian's size
        (~0.8 MB on TENG's 1D grid) costs its page faults on every call. With one output
        the result is a transposed view of that array.
        """
        n, out = len(points), self.layers[-1].out_features
        features, bump = self._embed(points)
        if activations is None:
            activations = self.forward_activations(points)[1]
        sizes = [p.numel() for p in self.parameters()]
        if columns is None:
            picks = [None] * len(sizes)
        else:  # sorted columns: each parameter's columns are one slice
            ends = torch.tensor(sizes, device=columns.device).cumsum(0)
            cuts = [0, *torch.searchsorted(columns, ends).tolist()]
            picks = [columns[a:b] - (end - size) for a, b, end, size in zip(cuts[:-1], cuts[1:], ends.tolist(), sizes)]
        starts = [0, *itertools.accumulate(size if pick is None else len(pick) for size, pick in zip(sizes, picks))]
        total = starts[-1] * out * n
        if buffer is not None and buffer.numel() < total:
            raise ValueError(f"buffer has {buffer.numel()} entries; this Jacobian needs {total}")
        result = (points.new_empty(total) if buffer is None else buffer[:total]).view(starts[-1], out, n)
        rows = [result[a:b] for a, b in zip(starts[:-1], starts[1:])]  # (k, out, n) per parameter

        def put(values: torch.Tensor, i: int) -> None:  # parameter i's columns of ``values`` (all, out, n)
            if picks[i] is None:
                rows[i].copy_(values)
            else:
                torch.index_select(values, 0, picks[i], out=rows[i])

        g = bump[None] * torch.eye(out, dtype=points.dtype, device=points.device)[:, :, None]  # (features, out, n)
        first = len(sizes) - 2 * len(self.layers)  # the first layer's weight; the embedding's parameters before it
        for index in reversed(range(len(self.layers))):
            layer, inputs, weight, bias = self.layers[index], activations[index], first + 2 * index, first + 2 * index + 1
            fan_in = inputs.shape[0]
            put(g, bias)
            if picks[weight] is None:  # row-major (output r, input c): g_r * input_c
                torch.mul(g[:, None], inputs[None, :, None], out=rows[weight].view(len(g), fan_in, out, n))
            else:
                torch.index_select(g, 0, picks[weight] // fan_in, out=rows[weight])
                rows[weight].mul_(inputs.index_select(0, picks[weight] % fan_in)[:, None])
            g = (layer.weight.T @ g.reshape(len(g), -1)).reshape(fan_in, out, n) * (1 - inputs.square())[:, None]
        per_axis = self.amplitude.shape[1]
        g = g.reshape(len(self.periodic), per_axis, out, n)  # w.r.t. each axis's features
        along = lambda values: torch.stack([v.expand(per_axis, n) for v in values])[:, :, None]  # noqa: E731
        put((g * along([basis for _, basis, _, _ in features])).flatten(0, 1), 0)  # amplitude
        put((g * along([d for _, _, _, d in features])).flatten(0, 1), 1)  # phase
        put(g[[i for i, periodic in enumerate(self.periodic) if periodic]].flatten(0, 1), 2)  # offsets (maybe none)
        return result[:, 0].T if out == 1 else result.permute(2, 1, 0).reshape(n * out, -1)


def _tanh(z: torch.Tensor) -> torch.Tensor:
    r""":math:`\tanh z = 2\sigma(2z) - 1`, to ~2e-16 absolute; torch's float64 tanh costs 2-3× the logistic on the CPU."""
    return 2 * torch.sigmoid(2 * z) - 1
