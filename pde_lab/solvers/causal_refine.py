r"""The L-BFGS refinement of a causal PINN window (:mod:`pde_lab.solvers.causal`), after its causal Adam phase.

Adam with the causal weights orders the training in time. Its error then falls slowly with
steps. ``lbfgs_steps`` adds a second phase to each window. L-BFGS (strong-Wolfe line search,
history 50, in ``lbfgs_dtype``, float64 by default) minimises the same loss

.. math::

    \frac1M\sum_{i=1}^M w_i \mathcal L_i + \lambda_{ic}\mathcal L_{ic} [+ \mathcal L_{bc}]

on fixed points: the same :math:`M` time chunks, ``lbfgs_points`` points in all, spatial points
drawn once from the window's pool, and every point of the initial state. L-BFGS needs a fixed
objective, so the causal weights :math:`w_i` (at the :math:`\varepsilon` where Adam stopped) are
recomputed only at the start of each chunk of 20 iterations and held fixed within it. The L-BFGS
curvature pairs carry over between chunks. Once Adam has resolved the last :math:`\varepsilon` the
weights are all near 1.

The phase stops after ``lbfgs_steps`` iterations, when the window's time budget is spent (the last
chunk is cut to the iterations that fit, at the pace of the chunk before), when a chunk makes fewer
iterations than asked (the line search finds no decrease), or at a NaN/inf loss
(the last finite parameters are kept).

At CPU scale (BENCHMARKS.md, 2026-12-07), with a quarter of 600 s, side by side with Adam alone:
1.2–2.7x lower error on Allen–Cahn (4 windows) and 1.0–5.5x on KS's first window (four pairs each;
`pde-lab bench causal-lbfgs`). From one saved Adam state on KS, 200 s of float64 L-BFGS took the error
from 5.5e-3 to 1.9e-3, float32 L-BFGS to 3.7e-3.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["Refinement"]

#: L-BFGS iterations per chunk: the causal weights are recomputed, and progress recorded, between chunks.
CHUNK = 20


class _NonFinite(Exception):
    pass


class Refinement:
    """The L-BFGS phase of the :class:`~pde_lab.solvers.causal_window.CausalWindow` ``window``.

    :meth:`start` widens the network to ``lbfgs_dtype`` in place (the same parameter objects) and
    builds the points and the optimiser; :meth:`run` iterates.
    """

    def __init__(self, window) -> None:
        self.window = window
        self.done = 0  # L-BFGS iterations made
        self.stop_reason = ""
        self.optimizer = None

    @property
    def started(self) -> bool:
        return self.optimizer is not None

    def start(self) -> None:
        import torch

        from pde_lab.derivatives import make_engine
        from pde_lab.solvers.causal_points import seeded_generator, soft_boundary
        from pde_lab.solvers.pinn import resolve_dtype

        w, s = self.window, self.window.solver
        dtype = w.dtype if s.lbfgs_dtype is None else resolve_dtype(s.lbfgs_dtype)
        network = w.network.to(dtype)  # Module.to converts the parameters' data in place
        self.engine = make_engine(s.derivatives, network)
        generator = seeded_generator(s.seed + 104_729 * (w.window + 1))  # not the Adam phase's draws
        per_chunk = s.lbfgs_points // s.time_chunks
        pick = torch.randperm(len(w.pool), generator=generator)[:per_chunk] if per_chunk <= len(w.pool) else \
            torch.randint(len(w.pool), (per_chunk,), generator=generator)
        times = w.span[0] + (w.stop - w.span[0]) * torch.sort(torch.rand(s.time_chunks, generator=generator))[0]
        space = w.pool[pick.to(w.pool.device)].to(dtype)
        self.points = torch.cat([space.repeat(s.time_chunks, 1),
                                 times.to(space).repeat_interleave(per_chunk)[:, None]], dim=1)
        self.initial_points = w.ic_points.to(dtype)  # every point of the initial state
        self.target = w.target.to(dtype)
        self.boundary = soft_boundary(w.problem, w.span, w.periodic, s.n_boundary, s.seed, self.points.device, dtype)
        self.weights = torch.ones(s.time_chunks, dtype=dtype, device=self.points.device)
        self.good = [p.detach().clone() for p in network.parameters()]
        self.optimizer = torch.optim.LBFGS(network.parameters(), lr=1.0, max_iter=CHUNK, max_eval=25 * CHUNK,
                                           history_size=50, tolerance_grad=1e-12, tolerance_change=1e-15,
                                           line_search_fn="strong_wolfe")

    # ------------------------------------------------------------ checkpoints
    def state_dict(self) -> dict[str, Any]:
        return {"done": self.done, "stop_reason": self.stop_reason,
                "optimizer": None if self.optimizer is None else self.optimizer.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore after :meth:`start` (the network must already be in the phase's dtype)."""
        self.done, self.stop_reason = int(state["done"]), str(state["stop_reason"])
        if state["optimizer"] is not None:
            self.optimizer.load_state_dict(state["optimizer"])
        for saved, p in zip(self.good, self.window.network.parameters(), strict=True):
            saved.copy_(p.detach())

    # ------------------------------------------------------------------- loop
    def terms(self):
        """The chunk losses :math:`\\mathcal L_i`, and the weighted loss terms at the fixed points."""
        from pde_lab.causal_weights import causal_loss, chunk_losses
        from pde_lab.collocation import pde_residuals

        w, s = self.window, self.window.solver
        losses = chunk_losses(pde_residuals(w.problem, w.network, self.points, self.engine), s.time_chunks,
                              s.residual_weights)
        terms = {"pde": causal_loss(losses, self.weights),
                 "initial": (w.network(self.initial_points) - self.target).square().mean()}
        if self.boundary is not None:
            terms["boundary"] = self.boundary(w.network)
        return losses, terms

    def run(self, seconds_left: Callable[[], float | None], history: dict[str, list], flag: dict[str, Any] | None,
            on_check: Callable[[], None] | None, bar) -> bool:
        """Iterate until ``lbfgs_steps``, the budget (``seconds_left() <= 0``; ``None``: no budget), a stall
        or a NaN; ``False`` if a signal stopped it. The last chunk is cut to the iterations that fit."""
        import time

        import torch

        w, s = self.window, self.window.solver
        scale = w._scales()
        parameters = list(w.network.parameters())
        per_iteration = 0.0  # seconds, measured on the last chunk

        def closure() -> torch.Tensor:
            self.optimizer.zero_grad(set_to_none=True)
            total = sum(scale[name] * term for name, term in self.terms()[1].items())
            if not torch.isfinite(total):
                raise _NonFinite
            total.backward()
            return total

        while self.done < s.lbfgs_steps and not self.stop_reason:
            if flag is not None and flag["signal"]:
                return False
            left = seconds_left()
            if left is not None and left <= 0:
                self.stop_reason = "time budget"
                break
            self._reweigh(scale, history)
            chunk = min(CHUNK, s.lbfgs_steps - self.done)
            if left is not None and per_iteration:
                chunk = max(1, min(chunk, int(left / per_iteration)))
            began = time.perf_counter()
            self.optimizer.param_groups[0]["max_iter"], self.optimizer.param_groups[0]["max_eval"] = chunk, 25 * chunk
            before = self.optimizer.state[parameters[0]].get("n_iter", 0)
            try:
                self.optimizer.step(closure)
            except _NonFinite:
                with torch.no_grad():
                    for p, saved in zip(parameters, self.good, strict=True):
                        p.copy_(saved)
                self.stop_reason = "NaN/inf loss (kept the last finite parameters)"
                break
            made = max(self.optimizer.state[parameters[0]].get("n_iter", 0) - before, 1)
            self.done += made
            per_iteration = (time.perf_counter() - began) / made
            with torch.no_grad():
                for p, saved in zip(parameters, self.good, strict=True):
                    saved.copy_(p)
            bar.update(made)
            bar.set_postfix(stage="L-BFGS", loss=f"{history['loss'][-1]:.2e}")
            if made < chunk:
                self.stop_reason = "no further decrease"
            if on_check is not None:
                on_check()
        if not self.stop_reason:
            self.stop_reason = "lbfgs_steps"
        self._reweigh(scale, history)  # the end state, in the history
        return True

    def _reweigh(self, scale: dict[str, float], history: dict[str, list]) -> None:
        """The causal weights at the :math:`\\varepsilon` where Adam stopped, for the next chunk; record the loss."""
        import torch

        from pde_lab.causal_weights import causal_loss, causal_weights

        w, s = self.window, self.window.solver
        with torch.no_grad():
            losses, terms = self.terms()
            exponent = scale["initial"] * terms["initial"] if s.initial_in_exponent else 0.0
            self.weights = causal_weights(losses, w.schedule.epsilon, exponent) if s.causal else torch.ones_like(losses)
            terms["pde"] = causal_loss(losses, self.weights)
            total = sum(scale[name] * term for name, term in terms.items())
        for key, item in (("iteration", len(history["loss"])), ("loss", float(total)),
                          ("pde", float(losses.mean())), ("initial", float(terms["initial"])),
                          ("epsilon", w.schedule.epsilon), ("min_weight", float(self.weights.min())),
                          ("window", w.window)):
            history[key].append(item)
        if w.balance is not None:  # the weights stay where Adam left them
            w.balance.record(history, terms)
