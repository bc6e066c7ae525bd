r"""Lazy derivative access for writing PDEs the way papers do.

Inside a rate or residual, ``f`` is a :class:`Fields`:

======================  ==============================================================
``f.u``                 the field ``u`` at the points, shape ``(n,)``
``f.x, f.y, f.z, f.t``  coordinate columns (``f.x1 ... f.xd`` above three dimensions)
``f.space``             all spatial coordinates, ``(n, d)``; ``f.points`` adds time
``f.u_t, f.u_xx``       partial derivatives: field, underscore, one letter per derivative
``f.d("u", "x3", "x3")`` the same by coordinate names (for ``d > 3``)
``f.grad("u")``         spatial gradient ``(n, d)``
``f.lap("u")``          spatial Laplacian :math:`\Delta u`
``f.div(("u", "v"))``   divergence of a vector of fields
======================  ==============================================================

Derivatives are computed on first use by the solver's derivative engine (nested reverse
autograd by default) and cached, so ``f.u_xx`` after ``f.u_x`` costs one more pass.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch

__all__ = ["Fields", "AutogradEngine"]


class AutogradEngine:
    """Nested reverse-mode automatic differentiation (the baseline engine, as in DeepXDE).

    Each derivative order costs one backward pass through the graph of the previous
    order; the full gradient row is cached, so mixed partials share work.
    """

    name = "autograd"

    def values(self, fields: Fields) -> torch.Tensor:
        if not fields.points.requires_grad:
            fields.points.requires_grad_(True)
        return fields.function(fields.points)

    def partial(self, fields: Fields, index: int, axes: tuple[int, ...]) -> torch.Tensor:
        """:math:`\\partial^{|axes|} u_{index} / \\partial x_{axes}` at the points, shape ``(n,)``."""
        row = self._gradient_row(fields, index, axes[:-1])
        return row[:, axes[-1]]

    def _gradient_row(self, fields: Fields, index: int, prefix: tuple[int, ...]) -> torch.Tensor:
        key = ("grad", index, prefix)
        cache = fields.cache
        if key not in cache:
            base = fields.value(index) if not prefix else self.partial(fields, index, prefix)
            if base.requires_grad:
                (row,) = torch.autograd.grad(base.sum(), fields.points, create_graph=True)
            else:  # the quantity does not depend on the points at all
                row = torch.zeros_like(fields.points)
            cache[key] = row
        return cache[key]


class Fields:
    """Fields and their derivatives at a batch of points, computed lazily.

    Parameters
    ----------
    function
        ``points (n, D) -> values (n, n_fields)``, e.g. a network.
    points
        Collocation points ``(n, D)``; time is the last column for evolution problems.
    names
        Field names, in output-column order.
    coordinates
        Coordinate names, one per column of ``points``.
    engine
        Derivative engine; :class:`AutogradEngine` when omitted.
    """

    def __init__(
        self,
        function: Callable[[torch.Tensor], torch.Tensor],
        points: torch.Tensor,
        names: Sequence[str],
        coordinates: Sequence[str],
        engine: Any | None = None,
    ) -> None:
        if points.ndim != 2 or points.shape[1] != len(coordinates):
            raise ValueError(f"points must have shape (n, {len(coordinates)}), got {tuple(points.shape)}")
        self.function = function
        self.points = points
        self.names = tuple(names)
        self.coordinates = tuple(coordinates)
        self.engine = engine if engine is not None else AutogradEngine()
        self.cache: dict[Any, torch.Tensor] = {}
        self._spatial = [i for i, c in enumerate(self.coordinates) if c != "t"]

    # ------------------------------------------------------------------ access
    @property
    def outputs(self) -> torch.Tensor:
        """All fields at the points, ``(n, n_fields)``."""
        if "values" not in self.cache:
            out = self.engine.values(self)
            if out.ndim == 1:
                out = out[:, None]
            if out.shape != (self.points.shape[0], len(self.names)):
                raise ValueError(
                    f"the network returned shape {tuple(out.shape)}; expected "
                    f"({self.points.shape[0]}, {len(self.names)}) for fields {self.names}"
                )
            self.cache["values"] = out
        return self.cache["values"]

    @property
    def evaluated(self) -> torch.Tensor | None:
        """:attr:`outputs` if they have been computed (a residual read a value or a derivative), else ``None``;
        computes nothing."""
        return self.cache.get("values")

    def value(self, index: int) -> torch.Tensor:
        return self.outputs[:, index]

    @property
    def space(self) -> torch.Tensor:
        return self.points[:, self._spatial]

    def d(self, name: str, *coordinates: str) -> torch.Tensor:
        """Partial derivative of field ``name`` along the given coordinate names."""
        index = self._field_index(name)
        if not coordinates:
            return self.value(index)
        axes = tuple(sorted(self._axis(c) for c in coordinates))
        key = ("d", index, axes)
        if key not in self.cache:
            self.cache[key] = self.engine.partial(self, index, axes)
        return self.cache[key]

    def grad(self, name: str) -> torch.Tensor:
        """Spatial gradient, ``(n, d)``."""
        return torch.stack([self.d(name, self.coordinates[i]) for i in self._spatial], dim=1)

    def lap(self, name: str) -> torch.Tensor:
        r"""Spatial Laplacian :math:`\sum_i \partial^2 u / \partial x_i^2`, ``(n,)``."""
        key = ("lap", name)
        if key not in self.cache:
            laplacian = getattr(self.engine, "laplacian", None)
            if laplacian is not None:
                self.cache[key] = laplacian(self, self._field_index(name))
            else:
                c = self.coordinates
                self.cache[key] = sum(self.d(name, c[i], c[i]) for i in self._spatial)
        return self.cache[key]

    def div(self, names: Sequence[str]) -> torch.Tensor:
        """Divergence of the vector field whose components are ``names``."""
        if len(names) != len(self._spatial):
            raise ValueError(f"div needs {len(self._spatial)} components, got {len(names)}")
        return sum(self.d(n, self.coordinates[i]) for n, i in zip(names, self._spatial, strict=True))

    def __getattr__(self, attribute: str) -> torch.Tensor:
        if attribute.startswith("_") or attribute in ("function", "points", "names", "coordinates"):
            raise AttributeError(attribute)
        if attribute in self.coordinates:
            return self.points[:, self.coordinates.index(attribute)]
        if attribute in self.names:
            return self.d(attribute)
        name, sep, letters = attribute.rpartition("_")
        if sep and name in self.names and letters and all(ch in self.coordinates for ch in letters):
            return self.d(name, *letters)
        raise AttributeError(
            f"{attribute!r} is not a field, coordinate or derivative; fields {self.names}, "
            f"coordinates {self.coordinates} (derivatives read like u_xx, u_t)"
        )

    # ---------------------------------------------------------------- helpers
    def _field_index(self, name: str) -> int:
        try:
            return self.names.index(name)
        except ValueError:
            raise ValueError(f"unknown field {name!r}; fields are {self.names}") from None

    def _axis(self, coordinate: str) -> int:
        try:
            return self.coordinates.index(coordinate)
        except ValueError:
            raise ValueError(f"unknown coordinate {coordinate!r}; coordinates are {self.coordinates}") from None


def as_field_tuple(result: Any, names: Sequence[str], n: int | None = None,
                   single: bool = True) -> tuple[torch.Tensor, ...]:
    """Normalise a rate/residual's return value to one ``(n,)`` tensor per field.

    With ``n`` (the number of points), an expression that is neither one value per point nor,
    when ``single``, one value for all (which broadcasts: a constant rate) is refused: a
    reduction such as ``.mean()`` over points, a slice or a constant residual would otherwise
    be trained on silently.
    """
    if isinstance(result, dict):
        missing = set(names) - set(result)
        if missing:
            raise ValueError(f"the PDE returned no expression for fields {sorted(missing)}")
        result = tuple(result[n] for n in names)
    elif not isinstance(result, (tuple, list)):
        result = (result,)
    if len(result) != len(names):
        raise ValueError(f"the PDE returned {len(result)} expressions for {len(names)} fields {tuple(names)}")
    tensors = tuple(r if isinstance(r, torch.Tensor) else torch.as_tensor(r) for r in result)
    for name, r in zip(names, tensors, strict=True):
        if n is not None and r.numel() not in ((1, n) if single else (n,)):
            raise ValueError(f"the PDE's expression for field {name!r} has shape {tuple(r.shape)} at {n} points; "
                             f"it must give one value per point, shape ({n},) (not a constant, a reduction such "
                             "as .mean() or a slice)")
    return tuple(r.reshape(-1) for r in tensors)
