r"""The stochastic Taylor derivative estimator (STDE) of the Laplacian.

Shi, Hu, Lin & Kawaguchi, "Stochastic Taylor Derivative Estimator: Efficient amortization
for arbitrary differential operators", NeurIPS 2024. A second-order jet
:math:`(x, v, 0)` gives :math:`D^2 u(x)[v, v] = v^\top \nabla^2 u(x)\, v`; averaging over random
directions with :math:`\mathbb{E}[v v^\top] = I` estimates :math:`\Delta u` without bias.

``"sparse"`` (the paper's default; SDGD's estimator computed in Taylor mode): draw
:math:`J \subset \{1, \dots, d\}` of :math:`|J|` coordinates *without replacement* and

.. math::

    \widetilde{\Delta u} = \frac{d}{|J|} \sum_{j \in J} \partial^2 u(x)[e_j, e_j],
    \qquad \operatorname{Var} = \frac{d^2 s^2}{|J|} \cdot \frac{d - |J|}{d - 1},

with :math:`s^2` the population variance of the :math:`d` diagonal entries
:math:`\partial_{jj} u` (so ``samples = d`` is exact). For an MLP the first layer's tangent of
:math:`e_j` is the weight column :math:`W_1[:, j]`: nothing of size :math:`d` is propagated.

``"rademacher"`` / ``"gaussian"`` (Hutchinson): :math:`\frac{1}{m} \sum_i D^2 u[v_i, v_i]` with
:math:`v_i` of independent :math:`\pm 1` or standard normal entries.

The engine owns a seeded ``torch.Generator`` and draws fresh directions for every batch
(every :class:`~pde_lab.fields.Fields`), shared by all points and fields of that batch.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import torch

from pde_lab.derivatives.taylor import (
    TaylorEngine,
    columns,
    directional_derivatives,
    spatial_axes,
    uses_mlp_rules,
)
from pde_lab.validation import check_int

__all__ = ["ESTIMATORS", "STDEEngine", "estimate_laplacian", "sample_directions", "stde_laplacian"]

ESTIMATORS = ("sparse", "rademacher", "gaussian")


def sample_directions(
    spatial: list[int] | int,
    samples: int,
    estimator: str = "sparse",
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, torch.Tensor | None, float]:
    """Random directions for :func:`estimate_laplacian`: ``(axes, coefficients, weight)``.

    ``spatial`` lists the columns of the Laplacian (an int ``d`` means ``range(d)``). The
    directions are drawn on the CPU from ``generator``: ``sparse`` draws ``min(samples, d)``
    column indices without replacement (``coefficients`` is ``None``: one-hot directions);
    the Hutchinson variants draw ``(samples, d)`` coefficients.
    """
    spatial_t = torch.arange(spatial) if isinstance(spatial, int) else torch.as_tensor(spatial, dtype=torch.long)
    d = len(spatial_t)
    if estimator == "sparse":
        count = min(samples, d)
        chosen = torch.randperm(d, generator=generator)[:count]
        return spatial_t[chosen], None, d / count
    if estimator == "rademacher":
        signs = torch.randint(0, 2, (samples, d), generator=generator, dtype=torch.int8)
        return spatial_t, (2 * signs - 1).double(), 1 / samples
    if estimator == "gaussian":
        return spatial_t, torch.randn(samples, d, generator=generator, dtype=torch.float64), 1 / samples
    raise ValueError(f"unknown STDE estimator {estimator!r}; known: {', '.join(ESTIMATORS)}")


def estimate_laplacian(
    function: Any,
    points: torch.Tensor,
    axes: torch.Tensor,
    coefficients: torch.Tensor | None,
    weight: float,
) -> torch.Tensor:
    r""":math:`w \sum_i D^2 u(x)[v_i, v_i]` for given directions, ``(..., out)``.

    Deterministic given the directions, so it runs under ``torch.func.vmap`` over points.
    """
    axes = axes.to(points.device)
    if coefficients is not None:
        coefficients = coefficients.to(device=points.device, dtype=points.dtype)
    return weight * directional_derivatives(function, points, axes, coefficients, 2).sum(-2)


def stde_laplacian(
    function: Any,
    points: torch.Tensor,
    samples: int,
    *,
    estimator: str = "sparse",
    generator: torch.Generator | None = None,
    spatial: list[int] | None = None,
) -> torch.Tensor:
    """One STDE draw of the Laplacian over ``spatial`` (all columns by default), ``(..., out)``."""
    spatial = points.shape[-1] if spatial is None else spatial
    return estimate_laplacian(function, points, *sample_directions(spatial, samples, estimator, generator))


@dataclass
class STDEEngine:
    """Randomized Laplacian (STDE); every other derivative exact by Taylor mode.

    Parameters
    ----------
    network
        Optional; when given and not a plain MLP, the fallback warning is issued at once.
    samples
        :math:`|J|` (sparse) or the number of Hutchinson vectors; ``samples >= d`` with
        ``"sparse"`` gives the exact Laplacian.
    estimator
        ``"sparse"``, ``"rademacher"`` or ``"gaussian"``.
    seed
        Seeds the engine's own generator; the global RNG is never touched.
    """

    network: Any = None
    samples: int = 16
    estimator: str = "sparse"
    seed: int = 0

    name: ClassVar[str] = "stde"
    fallback: ClassVar[str] = "nested torch.func.jvp on one-hot tangents"
    _warned: bool = field(default=False, init=False, repr=False)
    _generator: torch.Generator = field(init=False, repr=False)
    _taylor: TaylorEngine = field(default_factory=TaylorEngine, init=False, repr=False)

    def __post_init__(self) -> None:
        check_int("samples", self.samples)
        if self.estimator not in ESTIMATORS:
            raise ValueError(f"unknown STDE estimator {self.estimator!r}; known: {', '.join(ESTIMATORS)}")
        self._generator = torch.Generator().manual_seed(int(self.seed))
        if self.network is not None:
            uses_mlp_rules(self, self.network)
        self._taylor._warned = True  # exact partials of a non-MLP are covered by this engine's warning

    def values(self, fields: Any) -> torch.Tensor:
        return fields.function(fields.points)

    def partial(self, fields: Any, index: int, axes: tuple[int, ...]) -> torch.Tensor:
        """Exact partial derivative by Taylor mode."""
        uses_mlp_rules(self, fields.function)
        return self._taylor.partial(fields, index, axes)

    def directions(self, fields: Any) -> tuple[torch.Tensor, torch.Tensor | None, float]:
        """This batch's directions, drawn on first use and kept for all its fields."""
        key = ("stde-directions",)
        if key not in fields.cache:
            fields.cache[key] = sample_directions(spatial_axes(fields), self.samples, self.estimator, self._generator)
        return fields.cache[key]

    def laplacian(self, fields: Any, index: int) -> torch.Tensor:
        """One unbiased STDE estimate of the spatial Laplacian, ``(n,)``."""
        key = ("stde-laplacian",)
        if key not in fields.cache:
            uses_mlp_rules(self, fields.function)
            estimate = estimate_laplacian(fields.function, fields.points, *self.directions(fields))
            fields.cache[key] = columns(estimate)
        return fields.cache[key][:, index]
