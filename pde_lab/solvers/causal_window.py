r"""One time-marching window of the causal PINN (:mod:`pde_lab.solvers.causal`): its training loop,
and the state a checkpoint keeps so that a resumed window continues exactly where it stopped.

Each step draws :math:`M` sorted times and :math:`N` spatial points (or takes the fixed grid)
and, with ``resample_initial``, ``n_initial`` of the initial-condition points; it forms the chunk
losses :math:`\mathcal L_i`, the detached weights
:math:`w_i = e^{-\varepsilon(\lambda_{ic}\mathcal L_{ic} + \sum_{k<i}\mathcal L_k)}` and takes one Adam
step on :math:`\frac1M\sum_i w_i\mathcal L_i + \lambda_{ic}\mathcal L_{ic}` (+ the soft boundary
penalty). Every ``check_every`` steps the weights are recorded and :math:`\varepsilon` advances
once :math:`\min_i w_i >` ``tolerance``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

from pde_lab.loss_balance import make_balance
from pde_lab.solution import Status
from pde_lab.solvers.causal_points import at_time, seeded_generator, soft_boundary
from pde_lab.solvers.causal_refine import Refinement

__all__ = ["CausalWindow"]

HISTORY_KEYS = ("iteration", "loss", "pde", "initial", "epsilon", "min_weight", "window",
                "weights", "weights_times", "weights_epsilon", "weights_step", "weights_window")


class CausalWindow:
    """The network, optimiser, :math:`\\varepsilon` schedule and sampler of window ``window`` on ``span``.

    ``solver`` is the :class:`~pde_lab.solvers.causal.CausalPINN` (its settings and
    ``_network``); ``target`` the initial state at ``initial_points`` (all of them used each step,
    or ``n_initial`` drawn each step with ``resample_initial``).
    """

    def __init__(self, solver, problem, span, periodic, pool, initial_points, target, window, device, dtype) -> None:
        import torch

        from pde_lab.causal_weights import EpsilonSchedule
        from pde_lab.derivatives import make_engine

        self.solver, self.problem, self.span, self.window = solver, problem, tuple(span), window
        self.pool, self.target, self.periodic, self.dtype = pool, target, periodic, dtype
        length = span[1] - span[0]
        self.stop = span[1] + solver.window_overlap * length
        self.network = solver._network(problem, (span[0], self.stop), periodic, device, dtype)
        self.engine = make_engine(solver.derivatives, self.network)
        self.boundary = soft_boundary(problem, span, periodic, solver.n_boundary, solver.seed, device, dtype)
        self.ic_points = at_time(initial_points, span[0])
        self.optimizer = torch.optim.Adam(self.network.parameters(), lr=solver.learning_rate)
        self.decay = torch.optim.lr_scheduler.LambdaLR(
            self.optimizer, lambda s: solver.decay_rate ** (s / solver.decay_steps))
        self.schedule = EpsilonSchedule(tuple(solver.epsilons), solver.tolerance)
        self.generator = seeded_generator(solver.seed + 7919 * (window + 1))
        self.fixed_times = torch.linspace(span[0], self.stop, solver.time_chunks, dtype=dtype, device=device)
        self.fixed_space = torch.arange(solver.n_space, device=device)
        self.good = [p.detach().clone() for p in self.network.parameters()]
        self.steps = self.at_epsilon = 0
        self.status = Status.CONVERGED
        self.resolved: list[float] = []
        self.elapsed = 0.0  # seconds trained in this window, over all processes
        self.balance = make_balance(solver.loss_balance, solver.balance_every)
        self.refinement = Refinement(self)  # started after Adam if lbfgs_steps (or resumed in it)

    @property
    def iterations(self) -> int:
        """Adam steps and L-BFGS iterations made in this window."""
        return self.steps + self.refinement.done

    # ------------------------------------------------------------ checkpoints
    def state_dict(self) -> dict[str, Any]:
        """Everything the loop carries between steps (tensors on the CPU)."""
        return {"network": {k: v.detach().cpu() for k, v in self.network.state_dict().items()},
                "optimizer": self.optimizer.state_dict(), "decay": self.decay.state_dict(),
                "epsilon_index": self.schedule.index, "generator": self.generator.get_state(),
                "good": [p.cpu() for p in self.good], "steps": self.steps, "at_epsilon": self.at_epsilon,
                "status": self.status.value, "resolved": list(self.resolved), "elapsed": self.elapsed,
                "balance": None if self.balance is None else self.balance.state_dict(),
                "refinement": self.refinement.state_dict() if self.refinement.started else None}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        import torch

        if state.get("refinement") is not None:  # widen the network first: its saved parameters are in that dtype
            self.refinement.start()
        self.network.load_state_dict(state["network"])
        self.optimizer.load_state_dict(state["optimizer"])  # moves its state to the parameters' device
        self.decay.load_state_dict(state["decay"])
        self.schedule.index = int(state["epsilon_index"])
        self.generator.set_state(state["generator"])
        with torch.no_grad():
            for saved, value in zip(self.good, state["good"], strict=True):
                saved.copy_(value)
        self.steps, self.at_epsilon = int(state["steps"]), int(state["at_epsilon"])
        self.status, self.resolved = Status(state["status"]), [float(e) for e in state["resolved"]]
        self.elapsed = float(state["elapsed"])
        if self.balance is not None:
            self.balance.load_state_dict(state["balance"])
        if state.get("refinement") is not None:
            self.refinement.load_state_dict(state["refinement"])

    # ------------------------------------------------------------------- loop
    def train(self, budget: float | None, history: dict[str, list], flag: dict[str, Any] | None = None,
              on_check: Callable[[], None] | None = None) -> dict[str, Any]:
        """Train until the schedule is finished, the window's ``budget`` seconds are spent, the loss
        is not finite, or ``flag["signal"]`` is set (status ``INTERRUPTED``); then the L-BFGS refinement
        (:mod:`pde_lab.solvers.causal_refine`) if ``lbfgs_steps``, which gets the last ``lbfgs_share``
        of ``budget``. ``on_check`` runs after each check (the caller's checkpoint). Returns the
        window's report."""
        import torch
        from tqdm.auto import tqdm

        from pde_lab.causal_weights import causal_loss, causal_weights, chunk_losses
        from pde_lab.collocation import pde_residuals

        s, network, schedule = self.solver, self.network, self.schedule
        began = time.perf_counter() - self.elapsed
        refinement = self.refinement
        bar = tqdm(total=len(s.epsilons) * s.steps_per_epsilon + s.lbfgs_steps, initial=self.iterations,
                   dynamic_ncols=True, desc=f"causal {self.problem.name} window {self.window + 1}",
                   disable=not (s.progress if s.progress is not None else False))
        adam_budget = budget if budget is None or not s.lbfgs_steps else budget * (1 - s.lbfgs_share)
        interrupted = False  # not kept in self.status: a checkpoint must resume with the status the window had
        while not schedule.finished and not refinement.started:
            if flag is not None and flag["signal"]:
                interrupted = True
                break
            if s.resample:
                times = self.span[0] + (self.stop - self.span[0]) * torch.rand(s.time_chunks, generator=self.generator)
                chosen = torch.randint(len(self.pool), (s.n_space,), generator=self.generator)
                times, chosen = torch.sort(times)[0].to(self.pool.device, self.pool.dtype), chosen.to(self.pool.device)
            else:
                times, chosen = self.fixed_times, self.fixed_space
            points = torch.cat([self.pool[chosen].repeat(s.time_chunks, 1),
                                times.repeat_interleave(s.n_space)[:, None]], dim=1)  # time-major chunks
            losses = chunk_losses(pde_residuals(self.problem, network, points, self.engine), s.time_chunks,
                                  s.residual_weights)
            ic_points, target = self.ic_points, self.target
            if s.resample_initial:  # n_initial of the pool's points, drawn afresh
                drawn = torch.randint(len(ic_points), (s.n_initial,), generator=self.generator).to(ic_points.device)
                ic_points, target = ic_points[drawn], target[drawn]
            initial = (network(ic_points) - target).square().mean()
            scale = self._scales()  # the exponent takes the weights of the last balance update
            exponent = scale["initial"] * initial if s.initial_in_exponent else 0.0
            weights = causal_weights(losses, schedule.epsilon, exponent) if s.causal else torch.ones_like(losses)
            terms = {"pde": causal_loss(losses, weights), "initial": initial}
            if self.boundary is not None:
                terms["boundary"] = self.boundary(network)
            if self.balance is not None and self.balance.due(self.steps):
                self.balance.update(terms, list(network.parameters()))
                scale = self._scales()
            total = sum(scale[name] * term for name, term in terms.items())
            value = float(total.detach())
            if not math.isfinite(value):
                with torch.no_grad():
                    for p, saved in zip(network.parameters(), self.good, strict=True):
                        p.copy_(saved)
                self.status = Status.DIVERGED
                break
            self.optimizer.zero_grad(set_to_none=True)
            total.backward()
            self.optimizer.step()
            self.decay.step()
            self.steps, self.at_epsilon = self.steps + 1, self.at_epsilon + 1
            for key, item in (("iteration", len(history["loss"])), ("loss", value),
                              ("pde", float(losses.detach().mean())), ("initial", float(initial.detach())),
                              ("epsilon", schedule.epsilon), ("min_weight", float(weights.min())),
                              ("window", self.window)):
                history[key].append(item)
            if self.balance is not None:
                self.balance.record(history, terms)
            bar.update(1)
            if self.steps % s.check_every == 0 or self.at_epsilon >= s.steps_per_epsilon:
                self._check(weights, times, history, value, bar)
                self.elapsed = time.perf_counter() - began
                if on_check is not None:
                    on_check()
            if adam_budget is not None and time.perf_counter() - began > adam_budget:
                self.status = Status.BUDGET_EXHAUSTED
                break
        if (s.lbfgs_steps or refinement.started) and not interrupted and self.status is not Status.DIVERGED:
            if not refinement.started:
                refinement.start()

            def checked() -> None:
                self.elapsed = time.perf_counter() - began
                if on_check is not None:
                    on_check()

            if not refinement.run(lambda: None if budget is None else budget - (time.perf_counter() - began),
                                  history, flag, checked, bar):
                interrupted = True
        self.elapsed = time.perf_counter() - began
        bar.close()
        network.eval()
        report = {"status": Status.INTERRUPTED if interrupted else self.status, "steps": self.steps,
                  "resolved": list(self.resolved), "epsilon": schedule.epsilon, "lbfgs_steps": refinement.done,
                  "lbfgs_stop": refinement.stop_reason}
        if interrupted:
            report["signal"] = flag["signal"]
        return report

    def _scales(self) -> dict[str, float]:
        """The terms' weights: 1, λ_ic and the boundary weight, times the balance's when there is one."""
        s = self.solver
        scales = {"pde": 1.0, "initial": s.initial_weight, "boundary": s.boundary_weight}
        return scales if self.balance is None else {name: v * self.balance.weight(name) for name, v in scales.items()}

    def _check(self, weights, times, history, value, bar) -> None:
        """Record the weights, keep the parameters as the last good ones, advance ε if resolved."""
        import torch

        s, schedule = self.solver, self.schedule
        for key, item in (("weights", weights.tolist()), ("weights_times", times.tolist()),
                          ("weights_epsilon", schedule.epsilon), ("weights_step", self.steps),
                          ("weights_window", self.window)):
            history[key].append(item)
        bar.set_postfix(eps=f"{schedule.epsilon:g}", loss=f"{value:.2e}", min_w=f"{float(weights.min()):.2f}")
        with torch.no_grad():
            for p, saved in zip(self.network.parameters(), self.good, strict=True):
                saved.copy_(p)
        epsilon = schedule.epsilon
        if s.causal and schedule.update(weights):
            self.resolved.append(epsilon)
            self.at_epsilon = 0
        elif self.at_epsilon >= s.steps_per_epsilon:
            schedule.give_up()
            self.at_epsilon = 0
            self.status = Status.BUDGET_EXHAUSTED if s.causal else self.status
