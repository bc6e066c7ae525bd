r"""Truncated Taylor series ("jets") pushed through the activations of our networks.

A jet of order :math:`K` is the list of normalised Taylor coefficients
:math:`[z_0, z_1, \dots, z_K]` of a curve :math:`z(s) = \sum_k z_k s^k`, so that
:math:`z_k = z^{(k)}(0)/k!`. An entry may be ``None``, meaning a coefficient known to be zero
(the input curve :math:`x + s v` has :math:`x_k = 0` for :math:`k \ge 2`); the recurrences
skip those terms.

For :math:`y = \sigma(z)` with :math:`\sigma' = g(\sigma, z)` the coefficients follow from
differentiating :math:`y' = g\, z'` (the recursive form of Faà di Bruno's formula,
Griewank & Walther, *Evaluating Derivatives*, 2nd ed., ch. 13):

.. math::

    y_k = \frac{1}{k} \sum_{j=1}^{k} j\, z_j\, g_{k-j}, \qquad k \ge 1,

where :math:`g_m` are the coefficients of :math:`g(\sigma(z(s)), z(s))`, themselves built from
:math:`y_0, \dots, y_m` by the Cauchy product :math:`(ab)_m = \sum_{i=0}^{m} a_i b_{m-i}`:

- ``tanh``: :math:`g = 1 - y^2`;
- ``sin``: :math:`g = \cos z` with :math:`(\cos z)' = -\sin z \, z'` (two coupled series);
- ``silu`` :math:`= z\,\mathrm{sig}(z)`: :math:`\mathrm{sig}' = \mathrm{sig} - \mathrm{sig}^2`, then a product;
- ``gelu`` :math:`= z\,\Phi(z)` (exact, erf form): :math:`\Phi' = \varphi`, :math:`\varphi' = -z\varphi`,
  then a product.

These recurrences give the scalar derivatives :math:`\sigma^{(j)}(z_0)` (the jet of
:math:`z_0 + s`), computed once per point; :func:`activation_jet` then combines them with the
powers of the per-direction tangent series by Faà di Bruno's formula, which touches the
large ``(n, m, width)`` tensors half as often as running the recurrences on them.

Every operation is an ordinary differentiable torch operation, so jets backpropagate to the
network parameters, run on any device and dtype, and compose with ``torch.func.vmap``.
Shapes broadcast: in practice :math:`z_0` is ``(..., 1, width)`` (one value per point) and
the higher coefficients ``(..., m, width)`` (one per direction).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch

__all__ = ["JET_ACTIVATIONS", "Series", "activation_derivatives", "activation_jet", "cauchy_product",
           "normalized_derivatives"]

Series = list[torch.Tensor | None]


def _add(total: torch.Tensor | None, term: torch.Tensor | None) -> torch.Tensor | None:
    if term is None:
        return total
    return term if total is None else total + term


def cauchy_product(a: Series, b: Series, k: int) -> torch.Tensor | None:
    r""":math:`(ab)_k = \sum_{i=0}^{k} a_i b_{k-i}`; ``None`` when every term is zero."""
    total = None
    for i in range(k + 1):
        if a[i] is not None and b[k - i] is not None:
            total = _add(total, a[i] * b[k - i])
    return total


def _ode_coefficient(z: Series, g: Series, k: int) -> torch.Tensor | None:
    r""":math:`\frac1k \sum_{j=1}^k j z_j g_{k-j}` (the coefficient of :math:`y` with :math:`y' = g z'`)."""
    total = None
    for j in range(1, k + 1):
        if z[j] is not None and g[k - j] is not None:
            total = _add(total, z[j] * g[k - j] if j == k else (j / k) * z[j] * g[k - j])
    return total


def _tanh(z: Series) -> Series:
    y: Series = [torch.tanh(z[0])]
    g: Series = [1 - y[0] * y[0]]
    for k in range(1, len(z)):
        y.append(_ode_coefficient(z, g, k))
        if k < len(z) - 1:
            square = cauchy_product(y, y, k)
            g.append(None if square is None else -square)
    return y


def _sin(z: Series) -> Series:
    s: Series = [torch.sin(z[0])]
    c: Series = [torch.cos(z[0])]
    for k in range(1, len(z)):
        s.append(_ode_coefficient(z, c, k))
        if k < len(z) - 1:
            minus = _ode_coefficient(z, s, k)
            c.append(None if minus is None else -minus)
    return s


def _sigmoid(z: Series) -> Series:
    y: Series = [torch.sigmoid(z[0])]
    g: Series = [y[0] - y[0] * y[0]]
    for k in range(1, len(z)):
        y.append(_ode_coefficient(z, g, k))
        if k < len(z) - 1:
            square = cauchy_product(y, y, k)
            g.append(y[k] if square is None else (-square if y[k] is None else y[k] - square))
    return y


def _product(a: Series, b: Series) -> Series:
    return [cauchy_product(a, b, k) for k in range(len(a))]


def _silu(z: Series) -> Series:
    return _product(z, _sigmoid(z))


def _gelu(z: Series) -> Series:
    root = math.sqrt(0.5)
    cdf: Series = [0.5 * (1 + torch.erf(z[0] * root))]
    pdf: Series = [torch.exp(-0.5 * z[0] * z[0]) / math.sqrt(2 * math.pi)]
    z_pdf: Series = [z[0] * pdf[0]]
    for k in range(1, len(z)):
        cdf.append(_ode_coefficient(z, pdf, k))
        if k < len(z) - 1:
            minus = _ode_coefficient(z, z_pdf, k)
            pdf.append(None if minus is None else -minus)
            z_pdf.append(cauchy_product(z, pdf, k))
    return _product(z, cdf)


#: Activation name (as in :data:`pde_lab.nets.ACTIVATIONS`) -> jet recurrence.
JET_ACTIVATIONS: dict[str, Callable[[Series], Series]] = {
    "tanh": _tanh,
    "sin": _sin,
    "silu": _silu,
    "gelu": _gelu,
}


def _recurrence(name: str) -> Callable[[Series], Series]:
    try:
        return JET_ACTIVATIONS[name]
    except KeyError:
        raise ValueError(f"no Taylor rule for activation {name!r}; known: {sorted(JET_ACTIVATIONS)}") from None


def normalized_derivatives(name: str, z: torch.Tensor, order: int) -> list[torch.Tensor]:
    r""":math:`[\sigma(z), \sigma'(z), \sigma''(z)/2!, \dots, \sigma^{(K)}(z)/K!]`: the jet of :math:`z + s`."""
    series = _recurrence(name)([z, torch.ones_like(z)] + [None] * (order - 1))
    return [torch.zeros_like(z) if c is None else c for c in series]


def activation_jet(name: str, series: Sequence[torch.Tensor | None]) -> Series:
    r"""Push the jet ``series`` (``series[0]`` must be a tensor) through activation ``name``.

    Faà di Bruno's formula in normalised coefficients,

    .. math::

        y_k = \sum_{j=1}^{k} \frac{\sigma^{(j)}(z_0)}{j!}\, [s^k] \Big(\sum_{i \ge 1} z_i s^i\Big)^j,

    with the scalar derivatives :math:`\sigma^{(j)}(z_0)` from the recurrences above, run on
    :math:`z_0` alone (one value per point, cheap). Only the powers of the tangent series
    touch the per-direction tensors: 5 elementwise products for a 2-jet, against 10 for
    running the recurrences on the directions themselves.
    """
    order = len(series) - 1
    derivatives = normalized_derivatives(name, series[0], order)
    out: Series = [derivatives[0]] + [None] * order
    tangent: Series = [None] + list(series[1:])
    power = tangent
    for j in range(1, order + 1):
        if j > 1:  # coefficients of (sum_i z_i s^i)^j, nonzero from s^j on
            power = [None] * j + [
                _sum(power[i] * tangent[k - i] for i in range(j - 1, k) if power[i] is not None
                     and tangent[k - i] is not None)
                for k in range(j, order + 1)
            ]
        for k in range(j, order + 1):
            if power[k] is not None:
                out[k] = _add(out[k], derivatives[j] * power[k])
    return out


def _sum(terms) -> torch.Tensor | None:
    total = None
    for term in terms:
        total = _add(total, term)
    return total


def activation_derivatives(name: str, z: torch.Tensor, order: int = 2) -> list[torch.Tensor]:
    r""":math:`[\sigma(z), \sigma'(z), \dots, \sigma^{(order)}(z)]`, read off a jet with :math:`z_1 = 1`."""
    series = normalized_derivatives(name, z, order)
    return [c if k < 2 else c * math.factorial(k) for k, c in enumerate(series)]
