r"""Hand-written Taylor jets for the networks beyond the plain MLP: modified MLP, Fourier features.

A jet is the list :math:`[z_0, z_1, \dots, z_K]` of normalised Taylor coefficients along the
input curve :math:`x + s v` (:mod:`pde_lab.derivatives.jets`): :math:`z_0` of shape
``(..., 1, width)``, :math:`z_k` ``(..., m, width)`` for ``m`` directions, ``None`` for a
coefficient known to be zero. Each building block maps a jet to a jet exactly:

- affine maps act on every coefficient (the bias on :math:`z_0` only);
- :math:`\sin, \cos` and the activations use Faà di Bruno (:func:`~pde_lab.derivatives.jets.activation_jet`),
  with :math:`\cos z = \sin(z + \pi/2)`;
- products (the modified MLP's gates :math:`H = V + Z \odot (U - V)`) are Cauchy products;
- a Gaussian :math:`\exp(-\tfrac12 q)` of the quadratic form
  :math:`q = (\hat x - \mu)^\top P (\hat x - \mu)`: :math:`q_k = \sum_{i+j=k} c_i^\top P c_j`
  with :math:`c_0 = \hat x_0 - \mu`, :math:`c_k = \hat x_k`, then the exponential's recurrence
  :math:`h_0 = e^{a_0}`, :math:`k h_k = \sum_{j=1}^k j a_j h_{k-j}` for :math:`a = -q/2`.

:func:`module_jet` covers :class:`pde_lab.nets.MLP` and the blocks of
:mod:`pde_lab.architectures` (:class:`~pde_lab.architectures.CausalNetwork` with its periodic
embedding, temporal encoding, random Fourier features and modified MLP) and the physics-informed
Gaussians of :mod:`pde_lab.gaussian_features`. The Taylor, forward
Laplacian and STDE engines use it for these networks instead of nested ``torch.func.jvp``.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch.nn import functional

from pde_lab.derivatives.jets import Series, _add, activation_jet, cauchy_product

__all__ = ["has_module_jet", "module_jet"]


def _affine(series: Series, weight: torch.Tensor, bias: torch.Tensor | None) -> Series:
    return [functional.linear(series[0], weight, bias)] + [
        None if c is None else functional.linear(c, weight) for c in series[1:]
    ]


def _map(series: Series, function) -> Series:
    """A linear map applied to every coefficient (``None`` stays ``None``)."""
    return [None if c is None else function(c) for c in series]


def _cat(parts: list[Series], widths: list[int]) -> Series:
    """Concatenate jets along the last axis, filling zero coefficients where only some are zero."""
    out: Series = []
    for k in range(len(parts[0])):
        present = [p[k] for p in parts if p[k] is not None]
        if not present:
            out.append(None)
            continue
        shape = present[0].shape[:-1]
        out.append(torch.cat([p[k] if p[k] is not None else present[0].new_zeros(*shape, w)
                              for p, w in zip(parts, widths, strict=True)], dim=-1))
    return out


def _sin_cos(phase: Series) -> tuple[Series, Series]:
    shifted = [phase[0] + math.pi / 2] + list(phase[1:])
    return activation_jet("sin", phase), activation_jet("sin", shifted)


def _mlp(network: Any, series: Series) -> Series:
    series = _map(series, lambda c: c * network.scale.to(c.dtype))
    series[0] = series[0] - network.shift.to(series[0].dtype) * network.scale.to(series[0].dtype)
    for layer in network.layers[:-1]:
        series = activation_jet(network.activation_name, _affine(series, layer.weight, layer.bias))
    last = network.layers[-1]
    return _affine(series, last.weight, last.bias)


def _periodic(module: Any, series: Series) -> Series:
    frequencies = module.frequencies.to(series[0].dtype)
    phase = _map(series, lambda c: c[..., module.axes, None] * frequencies)  # (..., axes, M)
    sin, cos = _sin_cos(phase)
    waves = [None if c is None and s is None else torch.cat([
        c if c is not None else s.new_zeros(s.shape), s if s is not None else c.new_zeros(c.shape)], dim=-1)
        for c, s in zip(cos, sin, strict=True)]
    if module.amplitude is not None:
        waves = _map(waves, lambda w: w * module.amplitude.to(w.dtype))
    waves = _map(waves, lambda w: w.flatten(-2))
    others = _map(series, lambda c: c[..., module.others])
    ones = [torch.ones_like(series[0][..., :1])] + [None] * (len(series) - 1)
    parts, widths = [others, ones, waves], [len(module.others), 1, 2 * frequencies.numel()]
    if module.cross.shape[1]:  # mixed harmonics cos/sin(x_axes @ cross)
        cross = module.cross.to(series[0].dtype)
        mixed_sin, mixed_cos = _sin_cos(_map(series, lambda c: c[..., module.axes] @ cross))
        parts, widths = parts + [mixed_cos, mixed_sin], widths + [cross.shape[1]] * 2
    return _cat(parts, widths)


def _temporal(module: Any, series: Series) -> Series:
    column = module.column % series[0].shape[-1]
    scales = module.scales.to(series[0].dtype)

    def encode(c: torch.Tensor) -> torch.Tensor:
        return torch.cat([c[..., column:column + 1] * scales, c[..., :column], c[..., column + 1:]], dim=-1)

    return _map(series, encode)


def _fourier(module: Any, series: Series) -> Series:
    matrix = module.matrix.to(series[0].dtype)
    sin, cos = _sin_cos(_map(series, lambda c: c @ matrix))
    half = matrix.shape[1]
    return _cat([cos, sin], [half, half])


def _modified(module: Any, series: Series) -> Series:
    name = module.activation_name
    u = activation_jet(name, _affine(series, module.encoder_u.weight, module.encoder_u.bias))
    v = activation_jet(name, _affine(series, module.encoder_v.weight, module.encoder_v.bias))
    difference = [a if b is None else (-b if a is None else a - b) for a, b in zip(u, v, strict=True)]
    hidden = series
    for layer in module.layers:
        gate = activation_jet(name, _affine(hidden, layer.weight, layer.bias))
        hidden = [v[k] if (term := cauchy_product(gate, difference, k)) is None else
                  (term if v[k] is None else v[k] + term) for k in range(len(series))]
    return _affine(hidden, module.output.weight, module.output.bias)


def _causal(network: Any, series: Series) -> Series:
    shift, scale = network.shift.to(series[0].dtype), network.scale.to(series[0].dtype)
    series = _map(series, lambda c: c * scale)
    series[0] = series[0] - shift * scale
    for stage in network.embedding:
        series = _RULES[type(stage).__name__](stage, series)
    return _RULES[type(network.trunk).__name__](network.trunk, series)


def _exp(a: Series) -> Series:
    r""":math:`h = e^a`: :math:`h_0 = e^{a_0}`, :math:`h_k = \frac1k \sum_{j=1}^k j\,a_j h_{k-j}`."""
    h: Series = [torch.exp(a[0])]
    for k in range(1, len(a)):
        total = None
        for j in range(1, k + 1):
            if a[j] is not None and h[k - j] is not None:
                total = _add(total, (j / k) * a[j] * h[k - j])
        h.append(total)
    return h


def _gaussian_features(module: Any, series: Series) -> Series:
    """``(..., k)`` features: per channel, the weighted sum of its ``N`` Gaussians' jets."""
    stretch = module.stretch.to(series[0].dtype)
    x = [module.rescale(series[0])] + _map(series[1:], lambda c: c * stretch)  # the affine rescaling
    channels, count, _ = module.means.shape
    bilinear, pulled, constant = module.quadratic_form()

    def centred(i: int, j: int) -> torch.Tensor | None:
        r""":math:`c_i^T P c_j` with :math:`c_0 = \hat x_0 - \mu` (P symmetric), ``(..., kN)``."""
        a, b = x[i], x[j]
        if a is None or b is None:
            return None
        if i == 0 and j == 0:
            return bilinear(a, a) - 2 * (a @ pulled.T) + constant
        if i == 0 or j == 0:
            return bilinear(a, b) - (b if i == 0 else a) @ pulled.T
        return bilinear(a, b)

    exponent: Series = []
    for k in range(len(series)):
        total = None
        for i in range(k // 2 + 1):  # c_i^T P c_j = c_j^T P c_i: each unordered pair once
            term = centred(i, k - i)
            if term is not None:
                total = _add(total, term if 2 * i == k else 2 * term)
        exponent.append(None if total is None else -0.5 * total)
    gaussians = _exp(exponent)
    return _map(gaussians, lambda g: (g.unflatten(-1, (channels, count)) * module.weights).sum(-1))


def _gaussian_network(network: Any, series: Series) -> Series:
    series = activation_jet("tanh", _affine(_gaussian_features(network.features, series), network.hidden.weight,
                                            network.hidden.bias))
    return _affine(series, network.output.weight, network.output.bias)


_RULES = {"MLP": _mlp, "PeriodicEmbedding": _periodic, "TemporalEncoding": _temporal,
          "FourierFeatures": _fourier, "ModifiedMLP": _modified, "CausalNetwork": _causal,
          "GaussianFeatures": _gaussian_features, "GaussianNetwork": _gaussian_network}
_MODULES = ("pde_lab.nets", "pde_lab.architectures", "pde_lab.gaussian_features")


def has_module_jet(function: Any) -> bool:
    """Whether :func:`module_jet` covers ``function`` (every block and activation has a rule)."""
    from pde_lab.derivatives.jets import JET_ACTIVATIONS

    name = type(function).__name__
    if name not in _RULES or type(function).__module__ not in _MODULES:
        return False
    if name == "CausalNetwork":
        return all(has_module_jet(stage) for stage in function.embedding) and has_module_jet(function.trunk)
    if name == "MLP":
        from pde_lab.derivatives.mlp import is_plain_mlp

        return is_plain_mlp(function)
    if name == "ModifiedMLP":
        from pde_lab.nets import ACTIVATIONS

        activation = getattr(function, "activation_name", None)
        return activation in JET_ACTIVATIONS and function.activation is ACTIVATIONS[activation]
    return True


def module_jet(network: Any, points: torch.Tensor, directions: torch.Tensor, order: int) -> Series:
    r"""Taylor coefficients of ``network`` along dense ``directions`` ``(m, D)`` or ``(..., m, D)``."""
    tangent = directions.to(points.dtype)
    series: Series = [points.unsqueeze(-2), tangent.expand(*points.shape[:-1], *tangent.shape[-2:])]
    return _RULES[type(network).__name__](network, series + [None] * (order - 1))
