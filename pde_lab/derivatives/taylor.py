r"""Taylor mode: derivatives of any order from forward-propagated jets.

Along a direction :math:`v` the network restricted to the line :math:`x + s v` has the
Taylor series :math:`u(x + s v) = \sum_k u_k s^k` with
:math:`u_k = \partial^k u(x)[v, \dots, v] / k!`. One forward pass of the jet
:math:`(x, v, 0, \dots, 0)` gives every :math:`u_k` up to the order asked for
(Griewank & Walther, *Evaluating Derivatives*, ch. 13; Shi et al., "Stochastic Taylor
Derivative Estimator", NeurIPS 2024, eq. 7):

- pure partials: :math:`\partial^k u / \partial x_i^k = k!\, u_k` along :math:`e_i`
  (:math:`u_{xxxx}` for Kuramoto--Sivashinsky is one 4-jet);
- mixed partials by polarization of the symmetric :math:`k`-linear form :math:`D^k u`,

  .. math::

      D^k u[v_1, \dots, v_k] = \frac{1}{k!} \sum_{S \subseteq \{1..k\}} (-1)^{k - |S|}
          D^k u[v_S, \dots, v_S], \qquad v_S = \sum_{i \in S} v_i,

  with repeated axes grouped (:math:`u_{xy}` needs the jets along :math:`e_x, e_y, e_x+e_y`);
- the exact Laplacian :math:`\Delta u = \sum_i \partial^2 u[e_i, e_i]`, all :math:`d`
  second-order jets in one batched pass.

Two implementations: for :class:`pde_lab.nets.MLP` the jet is propagated by hand (exactly
through the linear layers, through the activation by the recurrences of
:mod:`pde_lab.derivatives.jets`), and the first layer's tangent is a gather of weight
columns; for any other network, ``k`` nested ``torch.func.jvp`` (exact too, :math:`2^k`
propagated streams instead of :math:`k + 1`).
"""

from __future__ import annotations

import itertools
import math
import warnings
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import torch
from torch.nn import functional

from pde_lab.derivatives.jets import Series, activation_jet, cauchy_product
from pde_lab.derivatives.module_jets import module_jet
from pde_lab.derivatives.mlp import (
    as_index,
    base_mlp,
    is_plain_mlp,
    cpu_chunk,
    first_layer,
    first_layer_tangents,
    is_supported_mlp,
)

__all__ = [
    "TaylorEngine",
    "directional_derivatives",
    "laplacian",
    "mlp_jet",
    "nested_jvp",
    "partial_derivative",
    "polarization",
]

Function = Callable[[torch.Tensor], torch.Tensor]


def mlp_jet(
    network: Any,
    points: torch.Tensor,
    axes: torch.Tensor | Sequence[int],
    coefficients: torch.Tensor | None = None,
    order: int = 2,
) -> Series:
    r"""Taylor coefficients :math:`[u_0, u_1, \dots, u_K]` of an MLP along ``m`` directions.

    Parameters
    ----------
    network
        A plain :class:`~pde_lab.nets.MLP` (see :func:`~pde_lab.derivatives.mlp.is_supported_mlp`).
    points
        ``(..., D)``.
    axes, coefficients
        The directions :math:`v_i = \sum_r c_{ir} e_{a_r}`; ``coefficients`` ``(m, r)`` or
        ``(..., m, r)``, ``None`` for the one-hot directions :math:`e_{a_r}`.
    order
        :math:`K \ge 1`.

    Returns
    -------
    list
        ``u_0`` of shape ``(..., 1, out)``, ``u_k`` of shape ``(..., m, out)``.
    """
    axes = as_index(axes, points.device)
    if not is_plain_mlp(base_mlp(network)):  # modified MLP, Fourier features, periodic embedding
        return module_jet(network, points, _dense(points, axes, coefficients), order)
    if base_mlp(network) is not network:  # u = phi * N: the jet of a product is the Cauchy product
        inner = mlp_jet(network.network, points, axes, coefficients, order)
        outer = envelope_jet(network, points, axes, coefficients, order)
        return [cauchy_product(outer, inner, k) for k in range(order + 1)]
    series: Series = [first_layer(network, points).unsqueeze(-2), first_layer_tangents(network, axes, coefficients)]
    series += [None] * (order - 1)
    for layer in network.layers[1:]:
        series = activation_jet(network.activation_name, series)
        series = [functional.linear(series[0], layer.weight, layer.bias)] + [
            None if c is None else functional.linear(c, layer.weight) for c in series[1:]
        ]
    return series


def envelope_jet(
    network: Any,
    points: torch.Tensor,
    axes: torch.Tensor,
    coefficients: torch.Tensor | None,
    order: int,
) -> Series:
    r"""Taylor coefficients :math:`\phi_k = D^k \phi[v, \dots, v] / k!` of a hard-BC envelope.

    The envelope is a small closed-form function (a polynomial for our geometries), so nested
    ``torch.func.jvp`` on dense directions costs little next to the network's jet.
    """
    if network.jet is not None:
        return network.jet(points, axes, coefficients, order)
    directions = _dense(points, axes, coefficients)
    series: Series = [network.envelope_values(points).unsqueeze(-2)]
    for k in range(1, order + 1):
        series.append(nested_jvp(network.envelope_values, points, directions, k) / math.factorial(k))
    return series


def _columns(function: Function) -> Function:
    def wrapped(x: torch.Tensor) -> torch.Tensor:
        out = function(x)
        return out if out.ndim == x.ndim else out.unsqueeze(-1)

    return wrapped


def nested_jvp(function: Function, points: torch.Tensor, directions: torch.Tensor, order: int) -> torch.Tensor:
    r""":math:`D^k u(x)[v_i, \dots, v_i]` by ``order`` nested ``torch.func.jvp``, for any network.

    ``directions`` ``(m, D)`` (shared by all points) or ``(..., m, D)``; returns
    ``(..., m, out)``. ``function`` must act row by row (no coupling between points).
    """
    base = _columns(function)

    def along(direction: torch.Tensor) -> torch.Tensor:
        tangent = direction.expand_as(points)

        def differentiate(inner: Function) -> Function:
            return lambda x: torch.func.jvp(inner, (x,), (tangent,))[1]

        derivative = base
        for _ in range(order):
            derivative = differentiate(derivative)
        return derivative(points)

    return torch.func.vmap(along, in_dims=-2, out_dims=-2)(directions)


def _dense(points: torch.Tensor, axes: torch.Tensor, coefficients: torch.Tensor | None) -> torch.Tensor:
    one_hot = functional.one_hot(axes, points.shape[-1]).to(points.dtype)  # (r, D)
    return one_hot if coefficients is None else coefficients @ one_hot


def directional_derivatives(
    function: Function,
    points: torch.Tensor,
    axes: torch.Tensor | Sequence[int],
    coefficients: torch.Tensor | None = None,
    order: int = 2,
) -> torch.Tensor:
    r""":math:`D^k u(x)[v_i, \dots, v_i]`, ``(..., m, out)``, for :math:`v_i = \sum_r c_{ir} e_{a_r}`.

    Hand-written jets for a plain MLP, nested ``torch.func.jvp`` otherwise.
    """
    if order < 1:
        raise ValueError(f"order must be >= 1, got {order}")
    axes = as_index(axes, points.device)
    if is_supported_mlp(function):
        top = mlp_jet(function, points, axes, coefficients, order)[order]
        return top * math.factorial(order)
    return nested_jvp(function, points, _dense(points, axes, coefficients), order)


def polarization(axes: Sequence[int]) -> tuple[list[int], list[list[int]] | None, list[float]]:
    r"""Directions and weights with :math:`\partial^\alpha u = \sum_i w_i\, D^k u[v_i, \dots, v_i]`.

    Returns ``(unique_axes, rows, weights)``: direction :math:`i` is
    :math:`\sum_r \text{rows}[i][r]\, e_{\text{unique}[r]}`. A pure partial needs one direction
    (``rows`` is ``None``, the one-hot :math:`e_a`, weight 1); a mixed one
    :math:`\prod_a (m_a + 1) - 1` directions, :math:`m_a` the multiplicity of axis :math:`a`.

    >>> polarization((0, 1))
    ([0, 1], [[0, 1], [1, 0], [1, 1]], [-0.5, -0.5, 0.5])
    """
    counts = Counter(axes)
    unique = sorted(counts)
    order = len(axes)
    if len(unique) == 1:
        return unique, None, [1.0]
    rows, weights = [], []
    for chosen in itertools.product(*(range(counts[a] + 1) for a in unique)):
        if sum(chosen) == 0:
            continue
        multiplicity = math.prod(math.comb(counts[a], c) for a, c in zip(unique, chosen, strict=True))
        rows.append(list(chosen))
        weights.append((-1) ** (order - sum(chosen)) * multiplicity / math.factorial(order))
    return unique, rows, weights


def partial_derivative(function: Function, points: torch.Tensor, axes: Sequence[int]) -> torch.Tensor:
    r""":math:`\partial^{|axes|} u / \partial x_{axes}` at ``points`` ``(..., D)``; returns ``(..., out)``."""
    if not axes:
        raise ValueError("axes must name at least one column")
    unique, rows, weights = polarization(axes)
    if rows is None:
        return directional_derivatives(function, points, unique, None, len(axes))[..., 0, :]
    coefficients = torch.tensor(rows, dtype=points.dtype, device=points.device)
    derivatives = directional_derivatives(function, points, unique, coefficients, len(axes))
    weights_t = torch.tensor(weights, dtype=points.dtype, device=points.device)
    return (weights_t[:, None] * derivatives).sum(-2)


def laplacian(function: Function, points: torch.Tensor, spatial: Sequence[int] | None = None) -> torch.Tensor:
    r"""Exact :math:`\sum_{i \in \text{spatial}} \partial^2 u / \partial x_i^2`, ``(..., out)``.

    ``spatial`` defaults to every column of ``points``.
    """
    spatial = range(points.shape[-1]) if spatial is None else spatial
    return directional_derivatives(function, points, list(spatial), None, 2).sum(-2)


def _width(function: Any) -> int:
    """Hidden width of a network the hand-written rules cover (sizes the CPU chunks)."""
    network = base_mlp(function)
    if is_plain_mlp(network):
        return network.layers[0].out_features
    if hasattr(network, "jet_width"):
        return network.jet_width
    return max((p.shape[0] for p in network.parameters() if p.ndim == 2), default=128)


def spatial_axes(fields: Any) -> list[int]:
    """The columns of ``fields.points`` that the Laplacian sums over (all but ``"t"``)."""
    return [i for i, c in enumerate(fields.coordinates) if c != "t"]


def columns(values: torch.Tensor) -> torch.Tensor:
    """``(n,)`` -> ``(n, 1)``; ``(n, out)`` unchanged."""
    return values.unsqueeze(-1) if values.ndim == 1 else values


def uses_mlp_rules(engine: Any, function: Any) -> bool:
    """Whether ``function`` is covered by the hand-written rules; warn once per engine if not."""
    if is_supported_mlp(function):
        return True
    if not engine._warned:
        engine._warned = True
        warnings.warn(
            f"derivative engine {engine.name!r}: {type(function).__name__} is not a plain "
            "pde_lab.nets.MLP with activation tanh/sin/silu/gelu, so the hand-written Taylor "
            f"rules do not apply; using {engine.fallback} instead (exact, but slower).",
            stacklevel=3,
        )
    return False


@dataclass
class TaylorEngine:
    r"""Exact derivatives by Taylor-mode jets (see the module docstring).

    Pure partials along one axis share a jet: after ``f.u_xxxx``, ``f.u_x`` and ``f.u_xx``
    are read from the same 4-jet. The exact Laplacian is :math:`d` second-order jets in one
    pass.

    Parameters
    ----------
    network
        Optional; when given and not a plain MLP, the fallback warning is issued at once.
    """

    network: Any = None

    name: ClassVar[str] = "taylor"
    fallback: ClassVar[str] = "nested torch.func.jvp"
    _warned: bool = field(default=False, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.network is not None:
            uses_mlp_rules(self, self.network)

    def values(self, fields: Any) -> torch.Tensor:
        return fields.function(fields.points)

    def partial(self, fields: Any, index: int, axes: tuple[int, ...]) -> torch.Tensor:
        """:math:`\\partial^{|axes|} u_{index} / \\partial x_{axes}`, ``(n,)``."""
        return self.all_partials(fields, axes)[:, index]

    def all_partials(self, fields: Any, axes: tuple[int, ...]) -> torch.Tensor:
        """The partial along ``axes`` of every output, ``(n, out)``, cached per batch."""
        cache = fields.cache
        key = ("taylor", axes)
        if key in cache:
            return cache[key]
        function, points = fields.function, fields.points
        if len(set(axes)) == 1 and uses_mlp_rules(self, function):
            order, jet_key = len(axes), ("taylor-jet", axes[0])
            if jet_key not in cache or len(cache[jet_key]) <= order:
                series = mlp_jet(function, points, [axes[0]], None, order)
                cache[jet_key] = [c[..., 0, :] * math.factorial(k) for k, c in enumerate(series)]
            cache[key] = cache[jet_key][order]
        else:
            uses_mlp_rules(self, function)
            cache[key] = columns(partial_derivative(function, points, axes))
        return cache[key]

    def laplacian(self, fields: Any, index: int) -> torch.Tensor:
        """Exact spatial Laplacian (the coordinate ``t`` excluded), ``(n,)``."""
        key = ("taylor-laplacian",)
        if key not in fields.cache:
            function, points, spatial = fields.function, fields.points, spatial_axes(fields)
            chunk = len(points)
            if uses_mlp_rules(self, function):
                chunk = cpu_chunk(points, 2 * len(spatial), _width(function))
            parts = [columns(laplacian(function, part, spatial)) for part in points.split(max(1, chunk))]
            fields.cache[key] = parts[0] if len(parts) == 1 else torch.cat(parts)
        return fields.cache[key][:, index]
