r"""Physics-informed Gaussians: an adaptive Gaussian feature embedding and a tiny MLP.

Kang, Oh, Hong & Park, "PIG: Physics-Informed Gaussians as Adaptive Parametric Mesh
Representations", ICLR 2025 (arXiv 2412.05994). Inputs are first rescaled from their box
to :math:`\hat x \in [0, R]^D`; then each of :math:`k` feature channels has its own
:math:`N` Gaussians (as in the authors' code: means, covariances and weights of shape
:math:`k \times N`),

.. math::

    \mathrm{FE}_c(\hat x) = \sum_{i=1}^{N} w_{c,i}\,
        \exp\!\big(-\tfrac12 (\hat x - \mu_{c,i})^\top \Sigma_{c,i}^{-1} (\hat x - \mu_{c,i})\big),
    \qquad c = 1, \dots, k,

and the solution is :math:`u = W_2 \tanh(W_1\,\mathrm{FE}(\hat x) + b_1) + b_2` (width 16).
Means, covariances and weights are all trained with the network, so the Gaussians move to
where the solution needs resolution. Covariances are diagonal,
:math:`\Sigma^{-1} = \mathrm{diag}(\sigma)^{-2}` with raw :math:`\sigma` (code), or full,
:math:`\Sigma^{-1} = A^\top A` with a trainable :math:`D \times D` factor :math:`A`
(initialised to :math:`I/\sigma_0`). Initialisation (code): :math:`\mu \sim U[0, R)^D`,
:math:`\sigma = \sigma_0`, :math:`w \sim N(0, s_w^2)`.

The quadratic form is evaluated as
:math:`\hat x^\top P \hat x - 2\hat x^\top P\mu + \mu^\top P\mu` with :math:`P = \Sigma^{-1}`:
matrix products of size :math:`n \times kN`, never an :math:`n \times kN \times D` array.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from pde_lab.validation import check_int, check_positive

__all__ = ["GaussianFeatures", "GaussianNetwork"]


class GaussianFeatures(nn.Module):
    """``k`` channels of ``N`` trainable Gaussians each: points ``(n, D)`` -> features ``(n, k)``.

    Parameters
    ----------
    in_dim
        Input columns (space, plus time for evolution problems).
    n_gaussians, channels
        :math:`N` Gaussians per channel, :math:`k` channels.
    covariance
        ``"diagonal"`` or ``"full"``.
    sigma, weight_std, box_size
        Initial width :math:`\\sigma_0`, the weights' initial standard deviation and the
        side :math:`R` of the box :math:`[0, R]^D` the inputs are rescaled to.
    lower, upper
        The input box (default :math:`[0, R]^D`, no rescaling).
    """

    def __init__(
        self,
        in_dim: int,
        n_gaussians: int = 800,
        channels: int = 4,
        covariance: str = "diagonal",
        sigma: float = 0.1,
        weight_std: float = 0.01,
        box_size: float = 2.0,
        lower: Sequence[float] | None = None,
        upper: Sequence[float] | None = None,
    ) -> None:
        super().__init__()
        if covariance not in ("diagonal", "full"):
            raise ValueError(f"covariance must be 'diagonal' or 'full', got {covariance!r}")
        for name, value in (("in_dim", in_dim), ("n_gaussians", n_gaussians), ("channels", channels)):
            check_int(name, value)
        for name, value in (("sigma", sigma), ("weight_std", weight_std), ("box_size", box_size)):
            check_positive(name, value)
        self.covariance = covariance
        self.means = nn.Parameter(torch.rand(channels, n_gaussians, in_dim) * box_size)
        if covariance == "diagonal":
            self.sigmas = nn.Parameter(torch.full((channels, n_gaussians, in_dim), float(sigma)))
        else:
            factor = torch.eye(in_dim) / sigma
            self.factors = nn.Parameter(factor.expand(channels, n_gaussians, in_dim, in_dim).clone())
        self.weights = nn.Parameter(torch.randn(channels, n_gaussians) * weight_std)
        lower_t = torch.as_tensor(lower if lower is not None else [0.0] * in_dim, dtype=torch.float64)
        upper_t = torch.as_tensor(upper if upper is not None else [box_size] * in_dim, dtype=torch.float64)
        if lower_t.shape != (in_dim,) or upper_t.shape != (in_dim,) or not torch.all(upper_t > lower_t):
            raise ValueError("lower/upper must have one entry per input with upper > lower")
        self.register_buffer("lower", lower_t)
        self.register_buffer("stretch", box_size / (upper_t - lower_t))

    def rescale(self, points: torch.Tensor) -> torch.Tensor:
        """Points in their box -> :math:`[0, R]^D`."""
        return (points - self.lower) * self.stretch

    def precisions(self) -> torch.Tensor:
        r""":math:`\Sigma^{-1}`, shape ``(k, N, D, D)``."""
        if self.covariance == "diagonal":
            return torch.diag_embed(self.sigmas.square().reciprocal())
        return self.factors.transpose(-1, -2) @ self.factors

    def quadratic_form(self):
        r"""The pieces of :math:`(\hat x - \mu)^\top P (\hat x - \mu)` for every Gaussian at once.

        Returns ``(bilinear, pulled, constant)``: ``bilinear(a, b)`` is :math:`a^\top P b`
        for rescaled vectors ``a, b`` ``(..., D)`` against all ``kN`` Gaussians, ``(..., kN)``;
        ``pulled`` is :math:`P\mu` ``(kN, D)``; ``constant`` is :math:`\mu^\top P \mu` ``(kN,)``.
        """
        dim = self.means.shape[-1]
        means = self.means.reshape(-1, dim)
        if self.covariance == "diagonal":  # only the diagonal of P enters
            inverse = self.sigmas.square().reciprocal().reshape(-1, dim)         # (kN, D)

            def bilinear(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
                return (a * b) @ inverse.T

            pulled = inverse * means
        else:
            precision = self.precisions().reshape(-1, dim, dim)                  # (kN, D, D)
            flat = precision.reshape(-1, dim * dim)

            def bilinear(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
                return (a[..., :, None] * b[..., None, :]).flatten(-2) @ flat.T

            pulled = (precision @ means[:, :, None])[:, :, 0]
        return bilinear, pulled, (pulled * means).sum(-1)

    def gaussians(self, points: torch.Tensor) -> torch.Tensor:
        """Every Gaussian at every point, ``(n, k, N)`` (weights not applied)."""
        x = self.rescale(points)
        channels, count, _ = self.means.shape
        bilinear, pulled, constant = self.quadratic_form()
        exponent = bilinear(x, x) - 2 * (x @ pulled.T) + constant
        return torch.exp(-0.5 * exponent).reshape(len(x), channels, count)

    def forward(self, points: torch.Tensor) -> torch.Tensor:
        return (self.gaussians(points) * self.weights).sum(-1)


class GaussianNetwork(nn.Module):
    """:class:`GaussianFeatures` followed by the tiny MLP ``Linear(k, width) -> tanh -> Linear(width, out)``."""

    def __init__(self, features: GaussianFeatures, out_dim: int, width: int = 16) -> None:
        super().__init__()
        check_int("mlp width", width)
        self.features = features
        channels = features.weights.shape[0]
        self.hidden = nn.Linear(channels, width)
        self.output = nn.Linear(width, out_dim)

    @property
    def jet_width(self) -> int:
        """Entries per point and direction in a Taylor jet: one per Gaussian (``k * N``)."""
        return self.features.weights.numel()

    def forward(self, points: torch.Tensor) -> torch.Tensor:
        return self.output(torch.tanh(self.hidden(self.features(points))))
