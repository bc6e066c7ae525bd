r"""Mixture-of-experts hard constraints on a space-time grid (Chalapathi, Du & Krishnapriyan 2024).

A network gives ``N`` basis functions :math:`b(x, t; z)` (``z`` encodes the instance, e.g.
its initial data at sensor points). The domain box is split into ``K`` fixed blocks
:math:`\Omega_k` (a uniform split per axis: the "router" is not learned). Expert ``k`` owns
the weights :math:`\omega_k` of :math:`u_k = b\cdot\omega_k` and finds them with the
constrained solve of :mod:`pde_lab.hard_constraints.layer` on its own rows:

* the PDE residual :math:`T\,(u_t - F[u])` (or :math:`R[u]` when steady) at ``m`` grid nodes of
  :math:`\Omega_k` sampled anew at every step (:math:`T` the time span, so the rows are
  :math:`O(1)`), scaled by :math:`1/\sqrt m`;
* the linear rows :math:`a\,u + b\,\partial_n u - g` of the initial condition and of the
  Dirichlet / Neumann / Robin conditions at the grid nodes on :math:`t = t_0` and on the
  boundary, scaled by ``boundary_weight``/:math:`\sqrt{l}`: **all** of them for every expert,
  as in the paper ("IC and BC residuals (global)"), so that :math:`b\cdot\omega_k` must meet
  the whole problem's data and the experts cannot drift apart. (With ``shared_rows=False``
  only the rows inside :math:`\Omega_k`; then a block that touches no boundary sees only the
  initial data, and a constant solves it exactly: measured, it ruins the blended field.)

The output is :math:`u = \sum_k \mathbf 1_{\Omega_k}\,b\cdot\omega_k`. Derivatives are grid
based, as in the paper (:mod:`pde_lab.hard_constraints.grid`): central differences of second
order (one-sided at the edges), spectral along periodic axes; so the basis network is
evaluated once per node and the PDE reads the derivative values from :mod:`pde_lab.fields`.
A problem may declare a second field as the stream function of the first
(``parameters["stream_function"] = ("psi", "w")``, :math:`-\Delta\psi = w`, periodic space):
:math:`\psi` is then computed by FFT from each expert's :math:`b\cdot\omega_k`, linear in
:math:`\omega_k`, as the paper's Navier–Stokes velocity is. ``K = 1`` is the single global
hard constraint (PI-HC); a basis of size one with weight one and no solve is the soft
constraint (PI-SC).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch

from pde_lab.conditions import Dirichlet, Neumann, Periodic, evaluate_value
from pde_lab.fields import Fields, as_field_tuple
from pde_lab.hard_constraints.grid import SpaceTimeGrid
from pde_lab.hard_constraints.layer import LMOptions, constrained_solve
from pde_lab.hard_constraints.pointwise import ValuesEngine, required_partials, stream_function_of
from pde_lab.problem import Problem
from pde_lab.validation import check_non_negative

__all__ = ["Experts", "block_of", "check_domain"]


def block_of(points: np.ndarray, lower: np.ndarray, upper: np.ndarray, splits: Sequence[int]) -> np.ndarray:
    """Expert index of each point for a uniform split of the box ``splits[i]`` times along axis i."""
    splits = np.asarray(splits)
    relative = (points - lower) / (upper - lower)
    index = np.clip(np.floor(relative * splits).astype(np.int64), 0, splits - 1)
    strides = np.append(np.cumprod(splits[::-1])[::-1][1:], 1)  # C order: prod(splits[i+1:])
    return (index * strides).sum(axis=1)


def check_domain(problem: Problem) -> None:
    """Raise ``ValueError`` unless the grid handles ``problem``: a box, one field (or a field and
    its stream function on a periodic space), periodicity only for all fields at once."""
    from pde_lab.hard_constraints.grid import periodic_axes

    if not hasattr(problem.geometry, "bounds") or type(problem.geometry).__name__ not in ("Interval", "Rectangle", "Box"):
        raise ValueError(f"hc-moe needs a box domain (Interval, Rectangle, Box), got {type(problem.geometry).__name__}")
    derived = stream_function_of(problem)
    if derived is None and len(problem.fields) != 1:
        raise ValueError(f"hc-moe supports one field (or a field and its declared stream function); "
                         f"{problem.name!r} has {problem.fields}")
    if derived is not None and not all(periodic_axes(problem)):
        raise ValueError("hc-moe computes a stream function on a space periodic along every axis only")
    if derived is not None and problem.rate is not None:
        raise ValueError("a problem with a stream function must be written as a residual (the stream function has no rate)")
    if any(isinstance(c, Periodic) and (c.field is not None or c.axis >= problem.spatial_dim)
           for c in problem.boundary_conditions):
        raise ValueError("hc-moe supports Periodic conditions on spatial axes for every field (field=None) only")


class Experts:
    r"""Constraint rows, blocks and the blended field for one problem family on one grid.

    Parameters
    ----------
    problem
        Any member of the family: the PDE, conditions and box come from it.
    shape
        Grid nodes per axis (space, then time).
    splits
        Uniform split per axis; ``K = prod(splits)`` experts.
    initial_layer
        :math:`\tau \ge 0`: the PDE rows (in the solve and in the loss) are weighted by
        :math:`1 - e^{-(t - t_0)/(\tau T)}`, so that rows inside the initial layer, where the
        grid cannot resolve a jump between the initial data and the boundary data, do not
        dominate the least squares; 0 weights every row 1 (the paper).
    shared_rows
        Every expert carries all initial and boundary rows (the paper); ``False``: only those
        in its block.
    exact_initial
        Build the initial condition into the field (the paper's Navier–Stokes "mollifier"):
        :math:`u = u_0(x) + \frac{t - t_0}{T}\,b\cdot\omega`, see :meth:`embed`; the initial
        rows are then dropped (they hold exactly).
    """

    def __init__(self, problem: Problem, shape: Sequence[int], splits: Sequence[int], initial_layer: float = 0.0,
                 shared_rows: bool = True, exact_initial: bool = False) -> None:
        check_domain(problem)
        if exact_initial and not problem.is_time_dependent:
            raise ValueError("exact_initial builds the initial condition in; the problem is steady")
        self.exact_initial = bool(exact_initial)
        self.fixed = int(self.exact_initial)  # trailing basis columns with weight fixed to 1
        check_non_negative("initial_layer", initial_layer)
        if initial_layer and not problem.is_time_dependent:
            raise ValueError("initial_layer weights rows in time; the problem is steady")
        self.initial_layer, self.shared_rows = float(initial_layer), bool(shared_rows)
        if len(shape) != problem.input_dim or len(splits) != problem.input_dim:
            raise ValueError(f"shape and splits need {problem.input_dim} entries (space then time)")
        if any(s < 1 for s in splits) or any(n < 5 for n in shape):
            raise ValueError("splits must be >= 1 and every grid axis needs >= 5 nodes")
        self.problem, self.splits = problem, tuple(int(s) for s in splits)
        self.grid = SpaceTimeGrid(problem, tuple(int(n) for n in shape))
        self.partials, self.derived_partials = required_partials(problem)
        self.derived = stream_function_of(problem)
        self.points = self.grid.points()
        lower, upper = (np.asarray(b, dtype=float) for b in problem.geometry.bounds)
        if problem.is_time_dependent:
            lower, upper = np.append(lower, problem.time_span[0]), np.append(upper, problem.time_span[1])
        self.lower, self.upper = lower, upper
        self.experts = int(np.prod(self.splits))
        self.block = block_of(self.points, lower, upper, self.splits)
        d = problem.spatial_dim
        never = np.zeros(len(self.points), bool)
        on_face = [(never, never) if self.grid.periodic[i] else
                   (np.isclose(self.points[:, i], lower[i]), np.isclose(self.points[:, i], upper[i])) for i in range(d)]
        boundary = np.any([lo | hi for lo, hi in on_face], axis=0)
        initial = np.isclose(self.points[:, -1], lower[-1]) if problem.is_time_dependent else never
        self.interior = [np.flatnonzero((self.block == k) & ~boundary & ~initial) for k in range(self.experts)]
        self._faces, self._initial, self._boundary = on_face, initial, boundary & ~initial

    def jets(self, values: torch.Tensor) -> dict:
        """The partials the rows read of ``values (b, n_nodes, N)`` (the first field's basis, or a
        field): ``{axes: ...}``, and ``{(name, axes): ...}`` of its stream function if declared
        (then the values' spatial mean is removed first)."""
        if self.derived is not None:  # a periodic vorticity has zero mean (the paper's basis too)
            values = self.grid.remove_spatial_mean(values)
        out = self.grid.jets(values, self.partials)
        if self.derived is not None:
            psi = self.grid.stream_function(values)
            out.update({(self.derived, axes): j for axes, j in self.grid.jets(psi, self.derived_partials).items()})
        return out

    def embed(self, basis: torch.Tensor, rows: Sequence[dict]) -> torch.Tensor:
        r"""``(b, n_nodes, N + 1)``: :math:`\frac{t - t_0}{T} b` and, as the last column (weight
        fixed to 1), the initial data :math:`u_0(x)` of each instance, constant in time."""
        t0, t1 = self.problem.time_span
        ramp = torch.as_tensor((self.points[:, -1] - t0) / (t1 - t0), dtype=basis.dtype, device=basis.device)
        nt = self.grid.shape[-1]
        offset = torch.stack([torch.as_tensor(r["initial_values"], dtype=basis.dtype, device=basis.device)
                              .repeat_interleave(nt) for r in rows])
        return torch.cat([ramp[None, :, None] * basis, offset[..., None]], dim=-1)

    def with_fixed(self, w: torch.Tensor) -> torch.Tensor:
        """Weights ``(..., N)`` extended by the fixed ones of the embedded initial data."""
        if not self.fixed:
            return w
        return torch.cat([w, torch.ones(*w.shape[:-1], self.fixed, dtype=w.dtype, device=w.device)], dim=-1)

    # ------------------------------------------------------------ linear rows
    def linear_rows(self, problem: Problem, dtype: torch.dtype) -> dict[str, Any]:
        """Rows ``a u + b ∂_n u = g`` (initial and boundary) of one instance, as node lists (numpy,
        on the host; they move to the basis's device when gathered)."""
        nodes, a, b, g, axis, sign = [], [], [], [], [], []
        points = torch.as_tensor(self.points, dtype=dtype, device="cpu")
        initial_values = None
        if problem.is_time_dependent:
            index = np.flatnonzero(self._initial)
            value = torch.as_tensor(problem.initial_condition(points[index, :-1]), device="cpu")
            value = value[:, 0] if value.ndim == 2 else value  # the first field's
            initial_values = np.asarray(value.reshape(-1).double())
        if problem.is_time_dependent and not self.exact_initial:
            nodes.append(index), a.append(np.ones(len(index))), b.append(np.zeros(len(index)))
            g.append(initial_values), axis.append(np.zeros(len(index), int))
            sign.append(np.zeros(len(index)))
        robin = tuple(problem.parameters.get("robin", ()))
        conditions = [(c, 1.0 if isinstance(c, Dirichlet) else 0.0, 0.0 if isinstance(c, Dirichlet) else 1.0)
                      for c in problem.boundary_conditions if isinstance(c, (Dirichlet, Neumann))]
        conditions += [(Neumann(0.0, where=where), 1.0, float(length)) for where, length in robin]
        for condition, ca, cb in conditions:
            for i, (low, high) in enumerate(self._faces):
                for face, s in ((low, -1.0), (high, 1.0)):
                    index = np.flatnonzero(face & self._boundary)
                    if condition.where is not None and len(index):
                        index = index[np.asarray(condition.where(points[index]), dtype=bool).reshape(-1)]
                    if not len(index):
                        continue
                    value = evaluate_value(condition.value, points[index])
                    nodes.append(index), a.append(np.full(len(index), ca)), b.append(np.full(len(index), cb))
                    g.append(np.asarray(value.double())), axis.append(np.full(len(index), i)), sign.append(np.full(len(index), s))
        rows = {k: np.concatenate(v) if v else np.zeros(0) for k, v in
                dict(nodes=nodes, a=a, b=b, g=g, axis=axis, sign=sign).items()}  # none: periodic, exact initial
        rows["nodes"], rows["axis"] = rows["nodes"].astype(np.int64), rows["axis"].astype(np.int64)
        rows["block"] = self.block[rows["nodes"]]
        rows["initial_values"] = initial_values  # u0 at the space nodes (C order), for embed
        return rows

    # ---------------------------------------------------------------- residuals
    def pde_from_values(self, problem: Problem, values: dict, points: torch.Tensor) -> torch.Tensor:
        r""":math:`T(u_t - F[u])` (or :math:`R[u]`) at ``points`` from the derivative values
        ``{axes: (n,)}`` of :math:`u` (pointwise in them),
        ``(n, c)``: one column per equation (two with a stream function: transport, and
        :math:`\Delta\psi + w`, which on the grid is the spatial mean of :math:`w`)."""
        fields = Fields(lambda x: x, points, problem.fields, problem.coordinate_names, ValuesEngine(values))
        if problem.rate is not None:
            (rate,) = as_field_tuple(problem.rate(fields, problem.parameters), problem.fields)
            span = problem.time_span[1] - problem.time_span[0]
            residual = (span * (fields.d(problem.fields[0], "t") - rate))[:, None]
        else:
            residual = torch.stack(as_field_tuple(problem.residual(fields, problem.parameters), problem.fields), 1)
        if self.initial_layer:  # time dependent (checked in __init__), whether by rate or residual
            t0, t1 = problem.time_span
            residual = residual * -torch.expm1(-(points[:, -1:] - t0) / ((t1 - t0) * self.initial_layer))
        return residual

    @staticmethod
    def linear_residual(jets: dict, weights: torch.Tensor, rows: dict) -> torch.Tensor:
        """:math:`a u + b\\,\\partial_n u - g` at the row nodes (jets already gathered there)."""
        u = (jets["value"] * weights).sum(-1)
        normal = (jets["normal"] * weights).sum(-1)
        return rows["a"] * u + rows["b"] * normal - rows["g"]

    # ---------------------------------------------------------- the solve
    def solve_weights(self, instances: Sequence[Problem], jets: dict, rows: Sequence[dict], m: int,
                      generator: torch.Generator, options: LMOptions, boundary_weight: float,
                      w0: float, info: dict | None = None, owned: Sequence[int] | None = None) -> torch.Tensor:
        """:math:`\\omega` of every instance and expert, ``(b, K, N)``, by one batched solve.

        ``owned``: solve only these experts (one rank's share); the result is then
        ``(b, len(owned), N)``, each expert's weights the same as in the full solve.
        """
        dtype, device = jets[()].dtype, jets[()].device
        columns = jets[()].shape[-1]  # N solved for, then self.fixed with weight 1
        N = columns - self.fixed
        m = min(m, min(len(i) for i in self.interior))
        # drawn for every expert, so each rank consumes the generator alike; drawn on the generator's
        # device (the CPU), so the rows are the same whatever device the basis is on
        chosen = np.stack([idx[torch.randperm(len(idx), generator=generator, device=generator.device)[:m].cpu().numpy()]
                           for idx in self.interior])
        if self.shared_rows:
            length = max(len(r["nodes"]) for r in rows)
        else:
            length = max(max(int((r["block"] == k).sum()) for k in range(self.experts)) for r in rows)
        owned = list(range(self.experts)) if owned is None else [int(k) for k in owned]
        K, chosen = len(owned), chosen[owned]
        points = torch.as_tensor(self.points[chosen], dtype=dtype, device=device)  # (K, m, D)
        where = torch.as_tensor(chosen, device=device)
        pde_jets = {axes: j[:, where] for axes, j in jets.items()}  # (b, K, m, N)
        lin = [self._pad_rows(r, jets, i, owned, length) for i, r in enumerate(rows)]
        lin = {key: torch.stack([item[key] for item in lin]) for key in lin[0]}  # (b, K, l, ...)
        keys = list(pde_jets)
        b = len(instances)
        features = [torch.stack([pde_jets[k] for k in keys], dim=3).reshape(b * K, m, len(keys), columns)]
        features += [lin[k].reshape(b * K, *lin[k].shape[2:]) for k in ("value", "normal", "a", "b", "g", "mask")]
        scale_pde, scale_lin = 1.0 / np.sqrt(m), boundary_weight / np.sqrt(max(length, 1))

        flat_points = points.reshape(K * m, -1)

        def values_of(w, stacked, i):
            part, w = stacked[i * K:(i + 1) * K], self.with_fixed(w)  # (K, m, keys, columns)
            return {axes: (part[:, :, n] * w[i * K:(i + 1) * K, None, :]).sum(-1).reshape(K * m)
                    for n, axes in enumerate(keys)}

        def residual(w, stacked, value, normal, a, bb, g, mask):
            pieces = [self.pde_from_values(problem, values_of(w, stacked, i), flat_points).reshape(K, -1)
                      for i, problem in enumerate(instances)]  # (K, m * equations), point-major
            linear = self.linear_residual({"value": value, "normal": normal}, self.with_fixed(w)[:, None, :],
                                          {"a": a, "b": bb, "g": g})
            return torch.cat([scale_pde * torch.cat(pieces), scale_lin * linear * mask], dim=1)

        def jacobian(w, stacked, value, normal, a, bb, g, mask):
            """Rows are pointwise in the derivative values: ∂r/∂w = Σ_k ∂G/∂d_k · jet_k."""
            pieces = []
            with torch.enable_grad():
                for i, problem in enumerate(instances):
                    leaves = {axes: v.detach().requires_grad_(True) for axes, v in values_of(w, stacked, i).items()}
                    r = self.pde_from_values(problem, leaves, flat_points)  # (K m, equations)
                    part = stacked[i * K:(i + 1) * K]
                    block = torch.zeros(K, m, r.shape[1], N, dtype=w.dtype, device=w.device)
                    for c in range(r.shape[1]):
                        grads = torch.autograd.grad(r[:, c].sum(), list(leaves.values()), allow_unused=True,
                                                    retain_graph=c + 1 < r.shape[1])
                        for n, grad in enumerate(grads):
                            if grad is not None:
                                block[:, :, c] += grad.reshape(K, m, 1) * part[:, :, n, :N]
                    block = block.reshape(K, -1, N)
                    pieces.append(block)
            linear = (a[..., None] * value + bb[..., None] * normal)[..., :N] * mask[..., None]
            return torch.cat([scale_pde * torch.cat(pieces), scale_lin * linear], dim=1)

        def hessian(w, stacked, *linear_features):
            """The exact Hessian of φ, JᵀJ + ρ²I + Σ_rows r ∇²r, for the implicit backward. A PDE row
            r = s·G(d) is pointwise in derivative values d_k linear in w (d_k = jet_k · w), so
            ∇²r = s Σ_kl ∂²G/∂d_k∂d_l jet_k jet_lᵀ: one p × p second derivative per point (p values)
            instead of N Hessian-vector products through the whole residual. Linear rows add nothing."""
            J = jacobian(w, stacked, *linear_features)
            H = J.transpose(1, 2) @ J + options.ridge**2 * torch.eye(N, dtype=w.dtype, device=w.device)
            p = len(keys)
            with torch.enable_grad():
                for i, problem in enumerate(instances):
                    leaves = [v.detach().requires_grad_(True) for v in values_of(w, stacked, i).values()]
                    G = self.pde_from_values(problem, dict(zip(keys, leaves, strict=True)), flat_points)
                    weighted = (scale_pde**2 * G.detach() * G).sum()  # Σ r · s G: its d-Hessian is Σ r ∇²_d r
                    first = torch.autograd.grad(weighted, leaves, create_graph=True, allow_unused=True)
                    C = torch.zeros(K * m, p, p, dtype=w.dtype, device=w.device)
                    for k, grad in enumerate(first):
                        if grad is None or not grad.requires_grad:  # G is linear in d_k
                            continue
                        second = torch.autograd.grad(grad.sum(), leaves, retain_graph=True, allow_unused=True)
                        for q, column in enumerate(second):
                            if column is not None:
                                C[:, k, q] = column
                    part = stacked[i * K:(i + 1) * K, ..., :N]  # (K, m, p, N)
                    H[i * K:(i + 1) * K] += torch.einsum("kmpn,kmpq,kmqo->kno", part, C.reshape(K, m, p, p), part)
            return H

        start = torch.full((b * K, N), float(w0), dtype=dtype, device=device)
        return constrained_solve(residual, start, features, options, info, jacobian, hessian).reshape(b, K, N)

    def _pad_rows(self, rows: dict, jets: dict, i: int, owned: Sequence[int], length: int) -> dict:
        like = jets[()]
        out = {k: like.new_zeros(len(owned), length, *([like.shape[-1]] if k in ("value", "normal") else []))
               for k in ("value", "normal", "a", "b", "g", "mask")}
        gathered = self.gather_linear(rows, jets, i, like.dtype)
        for position, k in enumerate(owned):
            where = np.arange(len(rows["nodes"])) if self.shared_rows else np.flatnonzero(rows["block"] == k)
            n = len(where)
            for key in out:
                out[key][position, :n] = gathered[key][where]
        return out

    def gather_linear(self, rows: dict, jets: dict, i: int, dtype) -> dict:
        """Basis values and normal derivatives at the row nodes of instance ``i`` (on the jets' device)."""
        device = jets[()].device
        nodes = torch.as_tensor(rows["nodes"], device=device)
        value = jets[()][i, nodes]
        normal = torch.zeros_like(value)
        sign = torch.as_tensor(rows["sign"], dtype=dtype, device=device)
        for axis in np.unique(rows["axis"][rows["b"] != 0]):
            pick = torch.as_tensor(np.flatnonzero((rows["axis"] == axis) & (rows["b"] != 0)), device=device)
            normal[pick] = sign[pick, None] * jets[(int(axis),)][i, nodes[pick]]
        out = {"value": value, "normal": normal, "mask": torch.ones(len(nodes), dtype=dtype, device=device)}
        out.update({k: torch.as_tensor(rows[k], dtype=dtype, device=device) for k in ("a", "b", "g")})
        return out

    # ------------------------------------------------------------ the field
    def node_weights(self, omega: torch.Tensor) -> torch.Tensor:
        """Each grid node's expert weights, ``(b, n_nodes, N)`` (and the fixed ones of :meth:`embed`)."""
        return self.with_fixed(omega[:, torch.as_tensor(self.block, device=omega.device)])

    def blended_terms(self, instances: Sequence[Problem], jets: dict, rows: Sequence[dict], omega: torch.Tensor,
                      owned: Sequence[int] | None = None,
                      reduce: Callable[[torch.Tensor], torch.Tensor] | None = None) -> dict[str, torch.Tensor]:
        r"""Training loss of the paper: per instance the RMS of the PDE residual over all interior
        nodes and of the initial/boundary rows, for the assembled field
        :math:`u = \sum_k 1_{\Omega_k} b\cdot\omega_k`; averaged over the batch.

        The derivatives are the grid differences of the assembled :math:`u`, as in the paper,
        so a jump between neighbouring experts shows in the residual next to their interface
        (differences of each expert's own field would hide it). ``omega`` is ``(b, K, N)``.
        With ``owned`` (one rank's experts) only their nodes contribute to the sums of squares,
        and ``reduce`` (e.g. :func:`pde_lab.distributed.global_sum`) adds the ranks' sums
        before the square roots.
        """
        owned = list(range(self.experts)) if owned is None else [int(k) for k in owned]
        field = (jets[()] * self.node_weights(omega)).sum(-1, keepdim=True)  # (b, n_nodes, 1)
        field_jets = self.jets(field)
        interior = np.concatenate([self.interior[k] for k in owned])
        device = omega.device
        index = torch.as_tensor(interior, device=device)
        points = torch.as_tensor(self.points[interior], dtype=omega.dtype, device=device)
        pde, linear, n_linear = [], [], []
        for i, problem in enumerate(instances):
            values = {axes: j[i, index, 0] for axes, j in field_jets.items()}
            pde.append(self.pde_from_values(problem, values, points).pow(2).sum())
            mine = torch.as_tensor(np.flatnonzero(np.isin(rows[i]["block"], owned)), device=device)
            gathered = {key: value[mine] for key, value in self.gather_linear(rows[i], field_jets, i, omega.dtype).items()}
            lin = self.linear_residual(gathered, omega.new_ones(len(mine), 1), gathered)
            linear.append(lin.pow(2).sum())
            n_linear.append(len(rows[i]["nodes"]))
        pde, linear = torch.stack(pde), torch.stack(linear)
        if reduce is not None:
            pde, linear = reduce(pde), reduce(linear)
        n_interior = sum(len(i) for i in self.interior)
        n_linear = torch.as_tensor(n_linear, dtype=omega.dtype, device=device).clamp(min=1)
        return {"pde": (pde / n_interior).sqrt().mean(), "boundary": (linear / n_linear).sqrt().mean()}
