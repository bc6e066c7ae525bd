r"""The differentiable constrained solve: batched Levenberg–Marquardt forward, implicit backward.

For each of ``E`` independent blocks (experts, or instances of a batch) find

.. math::

    \omega_e^\star = \arg\min_{\omega}\ \phi_e(\omega, F_e), \qquad
    \phi_e = \tfrac12\,\lVert r_e(\omega, F_e)\rVert^2 + \tfrac12\,\rho^2\lVert\omega\rVert^2,

where :math:`r_e` stacks the constraint residuals of block ``e`` (PDE at its collocation
points, initial and boundary rows) and :math:`F_e` are features that depend on the network
(basis functions and their derivatives there). :math:`\rho` is the paper's ridge
(the residual rows :math:`\rho\,\omega`).

Forward (no graph, float64): Levenberg–Marquardt, all blocks at once,
:math:`(J^\top J + \rho^2 I + \mu D)\,\delta = -(J^\top r + \rho^2\omega)` with
:math:`D = \mathrm{diag}(J^\top J)` (Marquardt's scaling), :math:`\mu` lowered on success and raised
on failure, per block; a block stops when an accepted step is small,
:math:`\lVert\delta\rVert \le \mathrm{tol}\,(\lVert\omega\rVert + \mathrm{tol})`, or lowers
:math:`\phi` by less than :math:`\mathrm{tol}^2\phi`.

Backward: the implicit function theorem on the optimality condition
:math:`g(\omega^\star, F) = \nabla_\omega\phi = 0`. With the cotangent :math:`\bar\omega`,
solve :math:`H\lambda = \bar\omega` (:math:`H = \partial g/\partial\omega`, the exact Hessian by
default, or Gauss–Newton :math:`J^\top J + \rho^2 I`), then
:math:`\bar F = -\partial_F\,[\,g(\omega^\star, F)\cdot\lambda\,]`. Nothing is unrolled: the
backward costs one Hessian, one ``N × N`` solve per block and one double-backward. The exact
Hessian comes from ``N`` Hessian-vector products (:func:`exact_hessian`) unless the caller passes
a cheaper ``hessian(w, *features) -> (E, N, N)`` (the mixture of experts does).

The residual must be *block separable*: ``residual(w, *features)`` maps ``w (E, N)`` and
features with leading dimension ``E`` to ``(E, M)``, row block ``e`` depending only on
``w[e]`` and ``features[·][e]`` (a pointwise PDE residual is). Jacobians then come from
``N`` forward-mode passes with one shared direction for all blocks, unless the caller passes
a cheaper ``jacobian(w, *features) -> (E, M, N)`` (the mixture of experts does: its rows are
pointwise in a few derivative values). The exact Hessian of the backward comes from ``N``
Hessian-vector products by double backward.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch

from pde_lab.validation import check_int, check_non_negative, check_positives

__all__ = ["LMOptions", "block_jacobian", "constrained_solve", "exact_hessian", "levenberg_marquardt"]

Residual = Callable[..., torch.Tensor]
Jacobian = Callable[..., torch.Tensor]
Hessian = Callable[..., torch.Tensor]


@dataclass(frozen=True)
class LMOptions:
    """Settings of the inner solve (the paper: ≤ 50 iterations, tol 1e-4 (DS) / 1e-7 (NS), ridge 1e-4).

    ``hessian``: ``"exact"`` (IFT exact at any residual) or ``"gauss-newton"`` (exact when the
    residual vanishes at the solution, cheaper).
    """

    max_iterations: int = 50
    tolerance: float = 1e-4
    ridge: float = 1e-4
    damping: float = 1e-3
    hessian: str = "exact"

    def __post_init__(self) -> None:
        check_int("max_iterations", self.max_iterations)
        check_positives(self, ("tolerance", "damping"))
        check_non_negative("ridge", self.ridge)
        if self.hessian not in ("exact", "gauss-newton"):
            raise ValueError(f"hessian must be 'exact' or 'gauss-newton', got {self.hessian!r}")


def block_jacobian(residual: Residual, w: torch.Tensor, features: Sequence[torch.Tensor]) -> torch.Tensor:
    """``∂r_e/∂w_e`` for every block, ``(E, M, N)``: ``N`` forward-mode (dual number) passes, the
    ``j``-th direction shared by all blocks (exact because the residual is block separable)."""
    from torch.autograd import forward_ad

    columns = []
    with forward_ad.dual_level():
        for j in range(w.shape[1]):
            tangent = torch.zeros_like(w)
            tangent[:, j] = 1.0
            out = residual(forward_ad.make_dual(w, tangent), *features)
            columns.append(forward_ad.unpack_dual(out).tangent)
    return torch.stack(columns, dim=-1)


def _objective(residual: Residual, w: torch.Tensor, features: Sequence[torch.Tensor], ridge: float) -> torch.Tensor:
    """:math:`\\phi_e` for every block, ``(E,)``."""
    r = residual(w, *features)
    return 0.5 * (r * r).sum(dim=1) + 0.5 * ridge**2 * (w * w).sum(dim=1)


def levenberg_marquardt(residual: Residual, w0: torch.Tensor, features: Sequence[torch.Tensor],
                        options: LMOptions = LMOptions(), jacobian: Jacobian | None = None) -> tuple[torch.Tensor, dict]:
    """Batched Levenberg–Marquardt on detached float64 inputs; returns ``(w, info)``.

    ``info``: ``iterations`` (largest over blocks), ``converged`` (bool per block),
    ``residual_norm`` (per block, without the ridge rows), ``objective`` (per block).
    """
    w = w0.detach().clone()
    eye = torch.eye(w.shape[1], dtype=w.dtype, device=w.device)
    ridge2 = options.ridge**2
    mu = torch.full((w.shape[0],), options.damping, dtype=w.dtype, device=w.device)
    active = torch.ones(w.shape[0], dtype=torch.bool, device=w.device)
    cost = _objective(residual, w, features, options.ridge)
    iterations = 0
    for iterations in range(1, options.max_iterations + 1):
        r = residual(w, *features)
        J = jacobian(w, *features) if jacobian is not None else block_jacobian(residual, w, features)
        JtJ = J.transpose(1, 2) @ J
        gradient = (J.transpose(1, 2) @ r[..., None])[..., 0] + ridge2 * w
        scale = torch.diagonal(JtJ, dim1=1, dim2=2).clamp(min=1e-12)
        system = JtJ + ridge2 * eye + mu[:, None, None] * torch.diag_embed(scale)
        step = -torch.linalg.solve(system, gradient[..., None])[..., 0]
        step = torch.where(active[:, None], step, torch.zeros_like(step))
        trial = w + step
        trial_cost = _objective(residual, trial, features, options.ridge)
        better = (trial_cost <= cost) & torch.isfinite(trial_cost) & active
        flat = better & (cost - trial_cost <= max(options.tolerance**2, 4 * torch.finfo(w.dtype).eps) * cost)
        w = torch.where(better[:, None], trial, w)
        cost = torch.where(better, trial_cost, cost)
        mu = torch.where(better, mu / 3.0, mu * 4.0).clamp(1e-12, 1e12)
        small = step.norm(dim=1) <= options.tolerance * (w.norm(dim=1) + options.tolerance)
        stalled = mu >= 1e12  # no descent possible at any damping: at a minimum to round-off
        active = active & ~((small & better) | flat | stalled)
        if not bool(active.any()):
            break
    r = residual(w, *features)
    info = {"iterations": iterations, "converged": ~active, "residual_norm": r.norm(dim=1), "objective": cost}
    return w, info


def exact_hessian(residual: Residual, w: torch.Tensor, features: Sequence[torch.Tensor], ridge: float) -> torch.Tensor:
    """:math:`\\nabla^2_\\omega\\phi_e` of every block, ``(E, N, N)``, by ``N`` Hessian-vector products
    (double backward; one direction shared by all blocks, exact because they are separable)."""
    with torch.enable_grad():
        point = w.detach().requires_grad_(True)
        (gradient,) = torch.autograd.grad(_objective(residual, point, features, ridge).sum(), point, create_graph=True)
        return _hessian_vector_products(gradient, point)


def _hessian_vector_products(gradient: torch.Tensor, point: torch.Tensor) -> torch.Tensor:
    """``(E, N, N)`` from the gradient ``(E, N)`` of a block-separable objective at ``point``
    (built with ``create_graph``): column ``j`` is one backward of ``gradient[:, j]``."""
    columns = [torch.autograd.grad(gradient[:, j].sum(), point, retain_graph=True)[0] for j in range(point.shape[1])]
    return torch.stack(columns, dim=2)


def _gauss_newton(residual, jacobian, w, features, ridge) -> torch.Tensor:
    J = jacobian(w, *features) if jacobian is not None else block_jacobian(residual, w, features)
    return J.transpose(1, 2) @ J + ridge**2 * torch.eye(w.shape[1], dtype=w.dtype, device=w.device)


class _ConstrainedSolve(torch.autograd.Function):
    @staticmethod
    def forward(ctx, residual, jacobian, hessian, options, w, *features):
        # the solve ran before (forward-mode AD is off inside autograd.Function.forward)
        ctx.residual, ctx.jacobian, ctx.hessian, ctx.options = residual, jacobian, hessian, options
        ctx.save_for_backward(w, *features)
        return w.to(features[0].dtype if features else w.dtype)

    @staticmethod
    def backward(ctx, grad_w):
        w, *features = ctx.saved_tensors
        residual, options = ctx.residual, ctx.options
        with torch.enable_grad():
            inputs = [f.detach().double().requires_grad_(f.requires_grad) for f in features]
            point = w.detach().requires_grad_(True)
            objective = _objective(residual, point, inputs, options.ridge).sum()
            (gradient,) = torch.autograd.grad(objective, point, create_graph=True)
            detached = [f.detach() for f in inputs]
            if options.hessian == "gauss-newton":
                hessian = _gauss_newton(residual, ctx.jacobian, w, detached, options.ridge)
            elif ctx.hessian is not None:
                hessian = ctx.hessian(w, *detached)
            else:  # the products on this backward's own gradient (exact_hessian would build another)
                hessian = _hessian_vector_products(gradient, point)
            multiplier = torch.linalg.solve(hessian, grad_w.double()[..., None])[..., 0]
            wanted = [f for f in inputs if f.requires_grad]
            grads = torch.autograd.grad(-(gradient * multiplier).sum(), wanted, allow_unused=True) if wanted else ()
        out, it = [], iter(grads)
        for original, f in zip(features, inputs, strict=True):
            g = next(it) if f.requires_grad else None
            out.append(None if g is None else g.to(original.dtype))
        return (None, None, None, None, None, *out)


def constrained_solve(residual: Residual, w0: torch.Tensor, features: Sequence[torch.Tensor],
                      options: LMOptions = LMOptions(), info: dict | None = None,
                      jacobian: Jacobian | None = None, hessian: Hessian | None = None) -> torch.Tensor:
    """:math:`\\omega^\\star(F)` for every block, differentiable in the features by the IFT.

    Parameters
    ----------
    residual
        ``(w (E, N), *features) -> (E, M)``, block separable (see the module docstring).
    w0
        Starting point ``(E, N)`` (the paper: ones for diffusion–sorption, zeros for NS).
    features
        Tensors with leading dimension ``E``; gradients flow to those that require them.
    options
        :class:`LMOptions`.
    info
        If given, filled with the solver's report (iterations, converged, residual_norm).
    jacobian
        Optional ``(w, *features) -> (E, M, N)``; default forward mode through ``residual``.
    hessian
        Optional ``(w, *features) -> (E, N, N)``, the exact Hessian of :math:`\\phi_e` for the
        backward (``options.hessian == "exact"``); default :func:`exact_hessian`.
    """
    if w0.ndim != 2:
        raise ValueError(f"w0 must have shape (blocks, basis), got {tuple(w0.shape)}")
    for f in features:
        if f.shape[0] != w0.shape[0]:
            raise ValueError(f"every feature needs leading dimension {w0.shape[0]} (blocks), got {tuple(f.shape)}")
    with torch.no_grad():
        detached = [f.detach().double() for f in features]
        w, details = levenberg_marquardt(residual, w0.detach().double(), detached, options, jacobian)
    if info is not None:
        info.update(details)
    return _ConstrainedSolve.apply(residual, jacobian, hessian, options, w, *features)
