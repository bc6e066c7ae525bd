"""The causal PINN reference code's settings per problem (Wang, Sankaran & Perdikaris, arXiv 2203.07404).

Used by :meth:`pde_lab.solvers.causal.CausalPINN.paper`; budgets are the paper's GPU budgets.
"""

from __future__ import annotations

from typing import Any

__all__ = ["PAPER_SETTINGS"]

#: The reference code's settings per problem name (budgets are the paper's GPU budgets).
PAPER_SETTINGS: dict[str, dict[str, Any]] = {
    "allen-cahn": dict(architecture="mlp", width=128, depth=4, harmonics=10, epsilons=(100.0,),
                       steps_per_epsilon=300_000, time_chunks=100, n_space=256, resample=False,
                       initial_weight=100.0, initial_in_exponent=False),
    "kuramoto-sivashinsky": dict(architecture="modified-mlp", width=256, depth=3, harmonics=5, windows=10,
                                 epsilons=(1e-2, 1e-1, 1.0, 1e1, 1e2), steps_per_epsilon=200_000,
                                 time_chunks=32, n_space=64, initial_weight=1e3, initial_in_exponent=True),
    "kuramoto-sivashinsky-chaotic": dict(architecture="modified-mlp", width=128, depth=8, harmonics=5, windows=10,
                                         temporal_powers=(-3.0, -2.0, -1.0, 0.0, 1.0, 2.0),
                                         epsilons=(1e-3, 1e-2, 1e-1, 1.0, 1e1, 1e2), steps_per_epsilon=200_000,
                                         time_chunks=32, n_space=256, initial_weight=1e4, initial_in_exponent=True),
    "navier-stokes-torus": dict(architecture="modified-mlp", width=128, depth=4, harmonics=5, cross_harmonics=True,
                                windows=20, temporal_powers=(0.0, 1.0, 2.0), epsilons=(1e-3, 1e-2, 1e-1, 1.0),
                                steps_per_epsilon=100_000, time_chunks=32, n_space=256, initial_weight=1e5,
                                initial_in_exponent=True, residual_weights=(1.0, 100.0), decay_steps=10_000),
}
