r"""Gauss–Newton (natural-gradient) least squares for network parameters.

Shared by :class:`~pde_lab.solvers.teng.TENG` and :class:`~pde_lab.solvers.pinn_ngd.PINNNGD`.
The objective is a sum of squares of residual rows :math:`r(\theta) \in \mathbb{R}^m`,

.. math:: L(\theta) = \tfrac12 \lVert r(\theta) \rVert^2 ,

and one iteration linearises :math:`r(\theta + \delta) \approx r(\theta) + J\delta` with the
Jacobian :math:`J = \partial r / \partial \theta` (only the columns of a parameter subset
:math:`S` when one is drawn) and solves the damped least-squares problem

.. math:: \delta_S = \arg\min_\delta \lVert J_S \delta + r \rVert^2 + \lambda \lVert \delta \rVert^2 ,

the minimum-norm solution when :math:`\lambda = 0` (``torch.linalg.lstsq``). For residuals
that are network values (TENG) this is the natural-gradient step in function space
(Chen et al., ICML 2024); for PDE residuals it is energy natural gradient descent (Müller &
Zeinhofer, ICML 2023), whose Gram matrix :math:`J^\top J` is the Gauss–Newton matrix. An
optional line search over the grid :math:`\eta \in \{1, \tfrac12, \dots, 2^{-K}\}` (halving while
the loss falls) picks the step length, and Levenberg–Marquardt adaptation of :math:`\lambda` rejects steps that do not lower
:math:`L`.

The parameters travel as one flat float vector; :func:`pointwise_jacobian` evaluates the
network on it through ``torch.func.functional_call`` and differentiates with
``vmap(jacrev(...))`` over points, so each row costs one reverse pass of one point.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import torch
from torch import nn

from pde_lab.low_rank import low_rank_svd, truncated_steps
from pde_lab.validation import check_non_negative

__all__ = [
    "GaussNewtonResult",
    "flat_parameters",
    "gauss_newton",
    "least_squares",
    "load_parameters",
    "low_rank_svd",
    "pointwise_jacobian",
    "pointwise_values",
    "truncated_steps",
]

#: ``body(network, points) -> (n, k)``: k residual rows per point, each row depending on its point only.
Body = Callable[[nn.Module, torch.Tensor], torch.Tensor]


def flat_parameters(network: nn.Module) -> torch.Tensor:
    """All parameters of ``network`` as one detached flat vector (a copy)."""
    return torch.cat([p.detach().reshape(-1) for p in network.parameters()]).clone()


def load_parameters(network: nn.Module, vector: torch.Tensor) -> None:
    """Copy the flat ``vector`` into ``network``'s parameters, in place."""
    torch.nn.utils.vector_to_parameters(vector.detach().to(next(network.parameters())), network.parameters())


def _unflatten(network: nn.Module, vector: torch.Tensor) -> dict[str, torch.Tensor]:
    out, offset = {}, 0
    for name, p in network.named_parameters():
        out[name] = vector[offset:offset + p.numel()].view_as(p)
        offset += p.numel()
    if offset != vector.numel():
        raise ValueError(f"parameter vector has {vector.numel()} entries, the network {offset}")
    return out


class _Bound(nn.Module):
    """``body`` applied to ``network``, so ``functional_call`` can swap the network's parameters.

    The body sees the network itself (not a wrapper), so derivative engines that read its
    layers (the MLP Taylor rules) keep working on the swapped parameters.
    """

    def __init__(self, network: nn.Module, body: Body) -> None:
        super().__init__()
        self.network, self.body = network, body

    def forward(self, points: torch.Tensor) -> torch.Tensor:
        out = self.body(self.network, points)
        return out[:, None] if out.ndim == 1 else out


def _call(network: nn.Module, body: Body, vector: torch.Tensor, points: torch.Tensor) -> torch.Tensor:
    parameters = {f"network.{k}": v for k, v in _unflatten(network, vector).items()}
    return torch.func.functional_call(_Bound(network, body), parameters, (points,))


def pointwise_values(network: nn.Module, body: Body, vector: torch.Tensor, points: torch.Tensor) -> torch.Tensor:
    """``body`` evaluated with the parameters ``vector``, ``(n, k)`` (no graph kept)."""
    with torch.no_grad():
        return _call(network, body, vector, points)


def pointwise_jacobian(
    network: nn.Module,
    body: Body,
    vector: torch.Tensor,
    points: torch.Tensor,
    columns: torch.Tensor | None = None,
    chunk_size: int | None = None,
) -> torch.Tensor:
    r""":math:`\partial\, \text{body}(\theta, x_i)_a / \partial \theta_c`, shape ``(n * k, |columns|)``.

    Rows are ordered point-major (point ``i``, output ``a`` at row ``i * k + a``). ``columns``
    selects a parameter subset (all parameters when ``None``); ``chunk_size`` bounds how many
    points are differentiated at once.
    """
    vector = vector.detach()
    sub = vector if columns is None else vector[columns]

    def one_point(subset: torch.Tensor, point: torch.Tensor) -> torch.Tensor:
        full = subset if columns is None else vector.index_put((columns,), subset)
        return _call(network, body, full, point[None])[0]

    jacobian = torch.func.vmap(torch.func.jacrev(one_point), in_dims=(None, 0), chunk_size=chunk_size)(sub, points)
    return jacobian.reshape(-1, sub.numel())


def least_squares(matrix: torch.Tensor, rhs: torch.Tensor, damping: float = 0.0, rcond: float | None = None) -> torch.Tensor:
    r"""Minimum-norm :math:`\arg\min_\delta \lVert A\delta - b\rVert^2 + \lambda\lVert\delta\rVert^2`.

    On the CPU: LAPACK ``gelsd`` when :math:`\lambda = 0` (SVD, as NumPy and JAX; ``gelsy`` is
    faster but its results vary in the last bits from call to call, which a chaotic fit
    amplifies); when :math:`\lambda > 0`, Householder QR (``gels``) of the system augmented by
    :math:`\sqrt\lambda I`, which has full column rank (``rcond`` unused). Elsewhere (CUDA offers only
    full-rank QR): Householder QR when :math:`\lambda = 0` and no diagonal entry of :math:`R`
    is near ``rcond`` relative, else the thin SVD,
    :math:`\delta = V \operatorname{diag}(s/(s^2+\lambda)) U^\top b` with singular values below
    ``rcond * s_max`` dropped. ``rcond`` defaults to ``eps * max(m, n)`` (NumPy's).
    """
    if matrix.ndim != 2 or rhs.shape != (matrix.shape[0],):
        raise ValueError(f"need A (m, n) and b (m,), got {tuple(matrix.shape)} and {tuple(rhs.shape)}")
    check_non_negative("damping", damping)
    m, n = matrix.shape
    rcond = torch.finfo(matrix.dtype).eps * max(m, n) if rcond is None else rcond
    if matrix.device.type == "cpu":
        driver = "gelsd"
        if damping > 0:  # full column rank: QR, 2.5x faster than gelsd on pinn-ngd's 777 x 257
            eye = math.sqrt(damping) * torch.eye(n, dtype=matrix.dtype)
            matrix, rhs, driver = torch.cat([matrix, eye]), torch.cat([rhs, rhs.new_zeros(n)]), "gels"
        return torch.linalg.lstsq(matrix, rhs[:, None], rcond=rcond, driver=driver).solution[:, 0]
    if damping == 0 and m >= n:  # Householder QR when R is safely nonsingular, else the SVD
        q, r = torch.linalg.qr(matrix)
        diagonal = r.diagonal().abs()
        if bool(diagonal.min() > 1e3 * rcond * diagonal.max()):
            return torch.linalg.solve_triangular(r, (q.T @ rhs)[:, None], upper=True)[:, 0]
    left, singular, right = torch.linalg.svd(matrix, full_matrices=False)
    keep = singular > rcond * singular[0]
    scale = torch.where(keep, singular / (singular.square() + damping), torch.zeros_like(singular))
    return right.T @ (scale * (left.T @ rhs))


@dataclass
class GaussNewtonResult:
    """Final parameters, the loss after every iteration, the final loss (also when no iteration ran), and how the
    loop ended (``converged``: at or below the tolerance; ``stalled``: see ``stall``)."""

    vector: torch.Tensor
    losses: list[float] = field(default_factory=list)
    loss: float = math.nan
    iterations: int = 0
    converged: bool = False
    finite: bool = True
    stalled: bool = False
    damping: float = 0.0
    stopped: bool = False
    line_search_start: int = 0
    sketch_rank: int = 64


def _random_columns(total: int, size: int | None, generator: torch.Generator | None, device) -> torch.Tensor | None:
    if size is None or size >= total:
        return None
    return torch.randperm(total, generator=generator).to(device)[:size].sort().values


def gauss_newton(
    residuals: Callable[[torch.Tensor], torch.Tensor],
    jacobian: Callable[[torch.Tensor, torch.Tensor | None], torch.Tensor],
    vector: torch.Tensor,
    *,
    iterations: int,
    subset_sizes: Sequence[int | None] = (None,),
    damping: float = 0.0,
    adapt_damping: bool = False,
    line_search: int = 0,
    tolerance: float = 0.0,
    rcond: float | Sequence[float] | None = None,
    warm_line_search: bool = False,
    accept_ratio: float = 0.0,
    stall: tuple[int, float] | tuple[int, float, float] | None = None,
    generator: torch.Generator | None = None,
    on_iteration: Callable[[int, float], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    line_search_start: int = 0,
    sketch_rank: int = 64,
) -> GaussNewtonResult:
    r"""Minimise :math:`\tfrac12\lVert r(\theta)\rVert^2` by (damped, subset) Gauss–Newton steps.

    Parameters
    ----------
    residuals
        ``vector -> r`` ``(m,)``.
    jacobian
        ``(vector, columns) -> J`` ``(m, |columns|)``; ``columns`` ``None`` means all.
    iterations
        The number of steps (fewer if ``tolerance`` is met first).
    subset_sizes
        Size of the random parameter subset per iteration (the last entry repeats);
        ``None`` uses every parameter. TENG: ``(1536, 1024)``.
    damping, adapt_damping
        Tikhonov :math:`\lambda`; with ``adapt_damping`` :math:`\lambda` grows tenfold when a
        step is rejected and an accepted full step divides it by 3. Once :math:`\lambda` exceeds
        :math:`10^{16}\|J_S\|_F^2` the step is below rounding: the loop stops (``stalled``).
    line_search
        ``K > 0``: a halving line search over :math:`\eta = 2^{-k}`, ``k = 0..K``, that keeps
        halving while the loss falls (or until it first falls below the current loss); 0 takes
        every step whole (TENG). With a line search or ``adapt_damping`` a step that does not
        lower the loss is rejected; without ``adapt_damping`` and subsets that ends the loop.
    tolerance
        Stop once the loss is at or below it.
    rcond
        Singular values of :math:`J_S` below ``rcond`` relative
        are dropped from the step (:func:`least_squares`). A sequence of cutoffs (without
        damping) takes one SVD per iteration (:func:`truncated_steps`), evaluates each
        truncated step at the line search's first length and line-searches only the one
        with the lowest loss: a search over the truncation level as well as the step length.
        (Searching every truncation fully cost TENG ~15 residual evaluations per iteration,
        mostly on the 1e-12 truncation halving down to the limit, and it won 0.1% of the time.
        At the full length the coarsest truncation, the shortest step, wins nearly always: TENG
        now defaults to a single cutoff.)
    warm_line_search
        Start each line search at the previous iteration's :math:`\eta` and walk the grid
        both ways, instead of halving from 1: about 3 residual evaluations per iteration in
        place of 8 when the accepted steps are consistently short (pinn-ngd).
    accept_ratio
        ``ρ > 0``: the halving stops at the first length :math:`\eta` whose loss decrease is at
        least ``ρ`` times the decrease the linearisation predicts,
        :math:`\ell - \tfrac12\lVert r + \eta J_S\delta_S\rVert^2` (the trust-region gain ratio):
        there the Gauss–Newton model holds and a shorter step cannot gain much, so it is not
        tried. 0 (default): halve while halving helps.
    stall
        ``(k, ρ)`` or ``(k, ρ, ℓ)``: stop (``stalled``) once an iteration ends with a loss above
        ``ρ`` times the loss ``k`` iterations earlier (the starting loss counts as iteration 0),
        and (if given) at most ``ℓ``: the fit has reached its floor. With random
        subsets progress is uneven (a subset may miss the directions that matter), so ``ℓ``
        keeps the rule to losses that are small already. ``None`` (default): run all ``iterations``.
    should_stop
        Polled before each iteration; ``True`` ends the loop there (``stopped``; a signal handler's flag).
    line_search_start, sketch_rank
        The warm line search's first :math:`k` and the truncated SVD's first sketch width. The
        result's fields of these names (and ``damping``) hold their values at the end, so a run cut
        into several calls, each passed the last one's vector and these, takes the same steps as
        one call (without ``subset_sizes``'s random draws, or with the same ``generator``).
    """
    if not (math.isfinite(accept_ratio) and 0 <= accept_ratio < 1):
        raise ValueError(f"accept_ratio must be in [0, 1), got {accept_ratio!r}")
    if stall is not None and not (len(stall) in (2, 3) and isinstance(stall[0], int) and stall[0] >= 1
                                  and 0 < stall[1] <= 1 and (len(stall) == 2 or stall[2] >= 0)):
        raise ValueError(f"stall must be (k >= 1, ratio in (0, 1]) or (k, ratio, loss >= 0), got {stall!r}")
    stall_k, stall_ratio, stall_below = (*stall, math.inf)[:3] if stall is not None else (0, 0.0, 0.0)
    vector = vector.detach().clone()
    result = GaussNewtonResult(vector, damping=damping)
    current = residuals(vector)
    loss = start_loss = 0.5 * float(current.square().sum())
    start = line_search_start  # the line search's first k (eta = 2^-k)
    rank = sketch_rank  # the first sketch width of the truncated SVD
    for iteration in range(iterations):
        if should_stop is not None and should_stop():
            result.stopped = True
            break
        if not math.isfinite(loss):
            result.finite = False
            break
        if loss <= tolerance:
            result.converged = True
            break
        size = subset_sizes[min(iteration, len(subset_sizes) - 1)]
        columns = _random_columns(vector.numel(), size, generator, vector.device)
        matrix = jacobian(vector, columns)
        if isinstance(rcond, (list, tuple)):
            steps, rank = truncated_steps(matrix, -current, rcond, rank)
        else:
            steps = [least_squares(matrix, -current, result.damping, rcond)]
        if not all(torch.isfinite(step).all() for step in steps):
            result.finite = False
            break
        fulls = [step if columns is None else torch.zeros_like(vector).index_put_((columns,), step) for step in steps]
        pick, first = 0, None
        if len(fulls) > 1:  # the truncations compete at the search's first length; the winner is searched
            trials = [_trial(residuals, vector, full, start) for full in fulls]
            pick = min(range(len(fulls)), key=lambda i: trials[i][2])
            first = trials[pick]
        # the linearised loss along the chosen step, for the gain ratio
        model = (current, matrix @ steps[pick], accept_ratio) if accept_ratio > 0 else None
        candidate, candidate_r, candidate_loss, eta = _best_step(residuals, vector, fulls[pick], line_search, loss,
                                                                 start, first, model)
        guarded = adapt_damping or line_search > 0 or len(steps) > 1
        if guarded and not candidate_loss < loss:  # rejected: the loss did not fall
            if adapt_damping:
                result.damping = max(10 * result.damping, 1e-12)
                if result.damping > 1e16 * float(matrix.square().sum()):  # the step is below rounding
                    result.losses.append(loss)
                    result.iterations, result.stalled = iteration + 1, True
                    break
            elif columns is None:  # a deterministic step cannot do better next time
                result.losses.append(loss)
                result.iterations = iteration + 1
                break
        else:
            if adapt_damping and eta == 1.0:
                result.damping /= 3
            if warm_line_search:
                start = round(-math.log2(eta))
            vector, current, loss = candidate, candidate_r, candidate_loss
        result.losses.append(loss)
        result.iterations = iteration + 1
        if on_iteration is not None:
            on_iteration(iteration, loss)
        if stall is not None and iteration + 1 >= stall_k and loss <= stall_below:
            before = result.losses[-1 - stall_k] if iteration + 1 > stall_k else start_loss
            if loss > stall_ratio * before:
                result.stalled = True
                break
    else:
        result.converged = loss <= tolerance
    result.vector, result.loss = vector, loss
    result.finite = result.finite and math.isfinite(loss)
    result.line_search_start, result.sketch_rank = start, rank
    return result


def _trial(residuals, vector, step, k: int):
    """``(vector + 2^-k step, its residuals, its loss (inf if not finite), 2^-k)``."""
    candidate = vector + 0.5**k * step
    r = residuals(candidate)
    value = 0.5 * float(r.square().sum())
    return candidate, r, value if math.isfinite(value) else math.inf, 0.5**k


def _good_enough(trial, loss: float, model) -> bool:
    """Whether ``trial`` decreased ``loss`` by at least ``ratio`` times the linear model's decrease."""
    if model is None or not trial[2] < loss:
        return False
    current, slope, ratio = model
    predicted = 0.5 * float((current + trial[3] * slope).square().sum())
    return loss - trial[2] >= ratio * (loss - predicted)


def _best_step(residuals, vector, step, line_search: int, loss: float, start: int = 0, first=None, model=None):
    r"""The best :math:`\eta = 2^{-k}`, ``k = 0..line_search``, by a walk on the grid from ``k = start``.

    From ``start`` the walk first doubles :math:`\eta` while that lowers the loss; if the first
    doubling does not help, it halves while that lowers the loss, or until the loss falls
    below ``loss`` (``start = 0``: halve from the full step). ``first``: the :func:`_trial` at
    ``start`` when already evaluated. ``model``: ``(r, J_S δ_S, ρ)``, to stop halving at the first
    length whose decrease is at least ρ times the linear model's (see ``accept_ratio``).
    """
    last = max(line_search, 0)
    first_k = k = min(max(start, 0), last)
    best = first if first is not None and k == start else _trial(residuals, vector, step, k)
    while k > 0:  # longer steps, while they help
        candidate = _trial(residuals, vector, step, k - 1)
        if not candidate[2] < best[2]:
            break
        best, k = candidate, k - 1
    if k == first_k and not _good_enough(best, loss, model):  # a longer step did not help: shorter ones
        while k < last:
            candidate = _trial(residuals, vector, step, k + 1)
            k += 1
            if candidate[2] < best[2]:
                best = candidate
                if _good_enough(best, loss, model):
                    break
            elif best[2] < loss:  # found a decrease and halving stopped helping
                break
    return best
