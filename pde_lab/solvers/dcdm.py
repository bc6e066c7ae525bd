r"""Deep conjugate-direction method (Kaneda, Akar, Chen, Kala, Hyde, Teran, ICML 2023).

Solves a Poisson problem :math:`-a\Delta u = f` on a box (2D or 3D) with Dirichlet and/or
Neumann conditions: the cell-centred finite-difference system :math:`Ax = b` of
:class:`~pde_lab.linalg.poisson_fd.PoissonGrid` (second order in :math:`h`) is solved by the
DCDM iteration (:func:`~pde_lab.linalg.krylov.dcdm`) to
:math:`\|b - Ax_k\| \le \mathrm{tol}\,\|b\|`, with search directions from a convolutional
network :math:`f_\theta(r) \approx A^{-1}r` (up to scale), each A-orthogonalised against
the previous two directions, exact line search, true residual every step.

The network (:class:`~pde_lab.linalg.dcdm_net.DCDMNet`) is trained once, unsupervised, on
Ritz vectors of the Dirichlet box matrices at ``training.grid`` cells per axis (by default
8, 16 and 32 in turn) with the scale-invariant loss :math:`\|b - (q^Tb/q^TAq)\,Aq\|^2`. It
is fully convolutional and recurses down to a coarse grid (as a multigrid cycle), so it is
applied at any grid size with an iteration count that grows far more slowly with the grid
than CG's; pass ``network=`` to reuse a trained one (the solve then has no training cost).
The iteration runs in float64, the network in ``dtype``.

A grid Poisson solve with obstacles (pressure projection of a fluid solver) uses the same
pieces directly: ``PoissonGrid(shape, solid=mask)`` and
``dcdm(grid.operator(), b, as_direction(network, operator))``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from pde_lab.checkpoint import checkpointing_of
from pde_lab.problem import Problem
from pde_lab.solution import Solution, Status
from pde_lab.validation import check_bool, check_int

__all__ = ["DCDM"]


@dataclass(frozen=True)
class DCDM:
    """DCDM on the cell-centred finite-difference discretisation of a box Poisson problem.

    Parameters
    ----------
    cells
        Cells along the longest side of the box (cubic cells; the other sides must be
        whole multiples of the cell size).
    tolerance, max_iterations
        Stop at relative residual ``tolerance`` (1e-4 in the paper), at most
        ``max_iterations`` (100 in the paper).
    channels, blocks, levels
        The network (see :class:`~pde_lab.linalg.dcdm_net.DCDMNet`).
    training
        :class:`~pde_lab.linalg.dcdm_net.TrainingSettings` (training grid, Lanczos steps, Adam).
    network
        An already trained ``DCDMNet`` of the problem's dimension; then nothing is trained.
    dtype, device, seed, progress, cpu_threads
        Network dtype (the iteration is float64), device (``None``: CUDA when present),
        seed of initialisation and data, progress bar, torch CPU threads.
    checkpoint, checkpoint_every, resume
        The network's training checkpoint (written every ``checkpoint_every`` Adam steps, at
        the end and on SIGTERM/SIGINT, which stops the run with status ``interrupted``);
        with ``resume=True`` training continues from it bit for bit, and a finished one
        gives the trained network without training again. ``training.steps`` may grow
        between runs; the other settings must match.
    """

    cells: int = 64
    tolerance: float = 1e-4
    max_iterations: int = 100
    channels: int = 16
    blocks: int = 2
    levels: int | None = None
    training: Any = None
    network: Any = field(default=None, compare=False)
    dtype: str = "float32"
    device: str | None = None
    seed: int = 0
    progress: bool | None = None
    cpu_threads: int | None = 1
    checkpoint: str | None = None
    checkpoint_every: int = 200
    resume: bool = False

    name = "dcdm"

    def solve(self, problem: Problem) -> Solution:
        import torch

        from pde_lab.linalg.dcdm_net import DCDMNet, TrainingSettings, as_direction, box_operators, train_network
        from pde_lab.linalg.krylov import dcdm
        from pde_lab.linalg.poisson_fd import PoissonGrid
        from pde_lab.solvers.pinn import resolve_device, resolve_dtype
        from pde_lab.solvers.reference.grid_field import GridField
        from pde_lab.training import solver_run

        self._check(problem)
        device, dtype = resolve_device(self.device), resolve_dtype(self.dtype)
        training = TrainingSettings() if self.training is None else self.training
        if not isinstance(training, TrainingSettings):
            raise TypeError(f"training must be a TrainingSettings, got {type(training).__name__}")
        start = time.perf_counter()
        history: dict[str, list] = {}
        with solver_run(device, self.cpu_threads) as memory:
            axes, spacing = self._axes(problem)
            source, dirichlet, dirichlet_values, neumann_values = self._discretise(problem, axes)
            grid = PoissonGrid(tuple(len(a) for a in axes), dirichlet=dirichlet)
            load = grid.load(source, spacing, dirichlet_values, neumann_values)
            torch.manual_seed(self.seed)
            network, train_s = self.network, 0.0
            if network is None:
                network = DCDMNet(problem.spatial_dim, self.channels, self.blocks, self.levels).to(device, dtype)
                boxes = box_operators(problem.spatial_dim, training, device, dtype)
                trained = train_network(network, boxes, training, self.seed, self.progress, checkpointing_of(self),
                                        self._fingerprint(problem, network, training))
                history["loss"], train_s = trained["loss"], trained["lanczos_s"] + trained["train_s"]
                if trained["status"] in (Status.DIVERGED, Status.INTERRUPTED):
                    return self._untrained(problem, trained, history, memory, start, device, dtype, network)
            elif getattr(network, "dim", None) != problem.spatial_dim:
                raise ValueError(f"network must be a DCDMNet of dimension {problem.spatial_dim}, "
                                 f"got {type(network).__name__} of dimension {getattr(network, 'dim', None)}")
            network.eval()
            solve_start = time.perf_counter()
            operator = grid.operator(device, torch.float64)
            b = torch.as_tensor(load, device=device, dtype=torch.float64)
            result = dcdm(operator, b, as_direction(network, operator), self.tolerance, self.max_iterations)
            values = result.x.cpu().numpy()
            solve_s = time.perf_counter() - solve_start
        history["residual"] = result.residuals
        stats = {"wall_s": time.perf_counter() - start, "peak_mem_mb": memory.peak_mb,
                 "iterations": result.iterations, "device": str(device), "dtype": str(dtype).removeprefix("torch."),
                 "train_s": train_s, "solve_s": solve_s, "relative_residual": result.residuals[-1],
                 "unknowns": grid.size, "cells": list(grid.shape)}
        if result.converged:
            status, message = Status.CONVERGED, f"relative residual {result.residuals[-1]:.2e} in {result.iterations} iterations"
        elif np.isfinite(result.residuals[-1]) and "broke down" not in result.message:
            status, message = Status.BUDGET_EXHAUSTED, result.message
        else:
            status, message = Status.DIVERGED, result.message
        solution_field = GridField(axes, values[..., None], None, [None] * len(axes))
        return Solution(problem, solution_field, self.name, status, message, stats, history, network)

    def _fingerprint(self, problem: Problem, network, training) -> dict:
        """What must match for a training checkpoint to be resumed: all settings but the budget."""
        import dataclasses

        from pde_lab.checkpoint import BUDGET_SETTINGS, run_fingerprint

        settings = dataclasses.replace(self, training=dataclasses.replace(training, steps=0))
        return run_fingerprint(settings, problem, network, BUDGET_SETTINGS | {"network", "tolerance", "max_iterations",
                                                                                "cells"})

    def _untrained(self, problem, trained, history, memory, start, device, dtype, network) -> Solution:
        """The solution of a run whose training diverged or was interrupted: no solve, the status says why."""
        stats = {"wall_s": time.perf_counter() - start, "peak_mem_mb": memory.peak_mb, "iterations": 0,
                 "device": str(device), "dtype": str(dtype).removeprefix("torch."), "train_s": None}
        def nothing(points: np.ndarray) -> np.ndarray:
            return np.full((len(points), 1), np.nan)

        return Solution(problem, nothing, self.name, trained["status"], f"network training: {trained['message']}",
                        stats, history, network)

    def check(self, problem: Problem) -> None:
        """Raise ``ValueError`` (``TypeError``) saying why this solver cannot solve ``problem``; trains nothing."""
        self._check(problem)

    def _check(self, problem: Problem) -> None:
        if not isinstance(problem, Problem):
            raise TypeError(f"DCDM.solve expects a Problem, got {type(problem).__name__}")
        if problem.is_time_dependent or problem.residual is None:
            raise ValueError(f"dcdm solves steady Poisson problems; {problem.name!r} is an evolution problem")
        if len(problem.fields) != 1 or problem.spatial_dim not in (2, 3):
            raise ValueError(f"dcdm solves scalar Poisson problems in 2D or 3D; {problem.name!r} has fields "
                             f"{problem.fields} in {problem.spatial_dim}D")
        if isinstance(self.cells, bool) or not isinstance(self.cells, int) or self.cells < 4:
            raise ValueError(f"cells must be an int >= 4, got {self.cells!r}")
        if not (isinstance(self.tolerance, float) and 0 < self.tolerance < 1):
            raise ValueError(f"tolerance must be a float in (0, 1), got {self.tolerance!r}")
        check_int("max_iterations", self.max_iterations)
        check_int("checkpoint_every", self.checkpoint_every)
        check_bool("resume", self.resume)
        if self.network is not None and self.checkpoint is not None:
            raise ValueError("checkpoint applies to training; with network= nothing is trained")
        checkpointing_of(self)
        self._axes(problem)

    def _axes(self, problem: Problem) -> tuple[list[np.ndarray], float]:
        # by name: the core does not import geometries/ (and a point test would import DeepXDE)
        if type(problem.geometry).__name__ not in ("Rectangle", "Box"):
            raise ValueError(f"dcdm discretises boxes (Rectangle, Box) on a Cartesian grid; {problem.name!r} has a "
                             f"{type(problem.geometry).__name__} geometry (use fem for other shapes)")
        lower, upper = (np.asarray(b, dtype=float) for b in problem.geometry.bounds)
        spacing = float((upper - lower).max()) / self.cells
        counts = np.rint((upper - lower) / spacing).astype(int)
        if np.any(np.abs(counts * spacing - (upper - lower)) > 1e-9 * (upper - lower).max()) or counts.min() < 2:
            raise ValueError(f"dcdm needs cubic cells: the box sides {(upper - lower).tolist()} are not whole "
                             f"multiples of the cell size {spacing:g} (cells={self.cells})")
        return [lo + spacing * (np.arange(n) + 0.5) for lo, n in zip(lower, counts, strict=True)], spacing

    def _discretise(self, problem: Problem, axes: list[np.ndarray]):
        """Source :math:`f/a` at cell centres; per side: Dirichlet mask and values, Neumann values."""
        import torch

        from pde_lab.conditions import Dirichlet, Neumann, evaluate_value
        from pde_lab.solvers.reference.fem import linear_operator

        shape = tuple(len(a) for a in axes)
        centres = np.stack([m.ravel() for m in np.meshgrid(*axes, indexing="ij")], axis=1)
        coefficients = linear_operator(problem, centres)
        a = coefficients["A"][0, 0]
        if not np.allclose(coefficients["A"], a * np.eye(len(axes)), atol=1e-12 * abs(a)) \
                or np.abs(coefficients["b"]).max() > 1e-10 * abs(a) or np.abs(coefficients["c"]).max() > 1e-10 * abs(a):
            raise ValueError(f"dcdm solves Poisson problems -aΔu = f; the residual of {problem.name!r} has "
                             "anisotropic diffusion, drift or a zeroth-order term (use fem)")
        source = (coefficients["f"] / a).reshape(shape)
        lower, upper = (np.asarray(b, dtype=float) for b in problem.geometry.bounds)
        dirichlet, dirichlet_values, neumann_values = [], [], []
        for side in range(2 * len(axes)):
            axis = side // 2
            face_axes = [a_ for i, a_ in enumerate(axes) if i != axis]
            mesh = np.meshgrid(*face_axes, indexing="ij")
            face = np.zeros((mesh[0].size, len(axes)))
            face[:, [i for i in range(len(axes)) if i != axis]] = np.stack([m.ravel() for m in mesh], axis=1)
            face[:, axis] = lower[axis] if side % 2 == 0 else upper[axis]
            points = torch.as_tensor(face, dtype=torch.float64)
            mask, values, flux = (np.zeros(len(face), dtype=bool), np.zeros(len(face)), np.zeros(len(face)))
            for condition in problem.boundary_conditions:
                if not isinstance(condition, (Dirichlet, Neumann)):
                    raise ValueError(f"dcdm supports Dirichlet and Neumann conditions, not {type(condition).__name__}")  # noqa: TRY004
                chosen = np.ones(len(face), dtype=bool) if condition.where is None else \
                    np.asarray(condition.where(points), dtype=bool).reshape(-1)
                value = np.asarray(evaluate_value(condition.value, points), dtype=float).reshape(-1)
                target = values if isinstance(condition, Dirichlet) else flux
                target[chosen] = np.broadcast_to(value, (len(face),))[chosen]
                if isinstance(condition, Dirichlet):
                    mask |= chosen
            face_shape = mesh[0].shape
            dirichlet.append(mask.reshape(face_shape))
            dirichlet_values.append(values.reshape(face_shape))
            neumann_values.append(flux.reshape(face_shape))
        if not any(m.any() for m in dirichlet):
            raise ValueError(f"dcdm needs a Dirichlet condition somewhere on the boundary of {problem.name!r}; "
                             "with Neumann conditions only the solution is not unique")
        return source, dirichlet, dirichlet_values, neumann_values
