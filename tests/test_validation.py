"""The shared argument checks (`pde_lab.validation`) and their use by problems, solvers and references."""

from __future__ import annotations

import doctest
import math
from types import SimpleNamespace

import numpy as np
import pytest

import pde_lab.validation as validation
from pde_lab.validation import check_int, check_ints, check_non_negative, check_positive, check_positives
from problems import allen_cahn, burgers, heat, kuramoto_sivashinsky


def test_module_examples() -> None:
    assert doctest.testmod(validation).failed == 0


@pytest.mark.parametrize("value", [1, 7, np.int64(3)])
def test_check_int_accepts(value) -> None:
    assert check_int("n", value) == int(value) and type(check_int("n", value)) is int


@pytest.mark.parametrize("value", [0, -2, 2.0, True, "3", None])
def test_check_int_rejects(value) -> None:
    with pytest.raises(ValueError, match=r"n must be a positive int, got"):
        check_int("n", value)


def test_check_int_minimum_wording() -> None:
    assert check_int("steps", 0, minimum=0) == 0
    with pytest.raises(ValueError, match="steps must be a non-negative int, got -1"):
        check_int("steps", -1, minimum=0)
    with pytest.raises(ValueError, match="n must be an int >= 4, got 3"):
        check_int("n", 3, minimum=4)


@pytest.mark.parametrize("value", [1, 0.5, 1e-300, np.float32(2.0), np.int32(4)])
def test_check_positive_accepts(value) -> None:
    result = check_positive("dt", value)
    assert type(result) is float and result == float(value)


@pytest.mark.parametrize("value", [0, -1.0, math.nan, math.inf, -math.inf, True, "0.1", None, np.array([1.0])])
def test_check_positive_rejects(value) -> None:
    with pytest.raises(ValueError, match="dt must be a positive finite number, got"):
        check_positive("dt", value)


@pytest.mark.parametrize("value", [0, 0.0, 2, 1e-300, np.float64(0.5)])
def test_check_non_negative_accepts_zero_and_positives(value) -> None:
    result = check_non_negative("nu", value)
    assert type(result) is float and result == float(value)


@pytest.mark.parametrize("value", [-1e-300, -1, math.nan, math.inf, False, "0", None])
def test_check_non_negative_rejects(value) -> None:
    with pytest.raises(ValueError, match="nu must be a non-negative finite number, got"):
        check_non_negative("nu", value)


def test_attribute_checks_name_the_first_bad_attribute() -> None:
    settings = SimpleNamespace(width=8, depth=2, learning_rate=1e-3, decay=0.0)
    check_ints(settings, ("width", "depth"))
    check_positives(settings, ("learning_rate",))
    with pytest.raises(ValueError, match="decay must be a positive finite number, got 0.0"):
        check_positives(settings, ("learning_rate", "decay"))


@pytest.mark.parametrize("make", [
    lambda: heat(nu=0.0),
    lambda: burgers(nu=math.nan),
    lambda: kuramoto_sivashinsky(t_final=-1.0),
    lambda: allen_cahn(t_final=math.inf),
])
def test_problems_use_the_shared_wording(make) -> None:
    with pytest.raises(ValueError, match="must be a positive finite number, got"):
        make()


def test_references_use_the_shared_wording() -> None:
    from pde_lab.reference.cole_hopf import burgers_cole_hopf
    from pde_lab.reference.etdrk4 import etdrk4_coefficients, save_step_indices
    from pde_lab.reference.spectral_1d import burgers_periodic_1d

    with pytest.raises(ValueError, match="dt must be a positive finite number, got 0.0"):
        etdrk4_coefficients(np.zeros(4), 0.0)
    with pytest.raises(ValueError, match="nu must be a positive finite number, got -0.1"):
        burgers_cole_hopf(np.zeros(3), np.ones(3), nu=-0.1)
    with pytest.raises(ValueError, match="nu must be a non-negative finite number, got -0.1"):
        burgers_periodic_1d(np.zeros(8), length=1.0, nu=-0.1, dt=0.01, t_final=0.1)
    with pytest.raises(ValueError, match="t_final must be a non-negative finite number, got nan"):
        save_step_indices(0.1, math.nan)
