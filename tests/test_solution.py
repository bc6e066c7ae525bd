"""Solution: evaluation in numpy and torch, validated points, error norms by hand."""

import dataclasses

import numpy as np
import pytest
import torch

from pde_lab.solution import Solution, relative_error
from problems import poisson


@pytest.fixture
def exact():
    return poisson().reference()


def test_same_kind_out_as_in(exact):
    points = np.array([[0.5, 0.5], [0.1, 0.2]])
    out = exact(points)
    assert isinstance(out, np.ndarray) and out.shape == (2, 1)
    out_t = exact(torch.tensor(points, dtype=torch.float32))
    assert isinstance(out_t, torch.Tensor) and out_t.dtype == torch.float32 and out_t.shape == (2, 1)
    np.testing.assert_allclose(out_t.numpy()[:, 0], np.sin(np.pi * points[:, 0]) * np.sin(np.pi * points[:, 1]), rtol=1e-6)


@pytest.mark.parametrize(
    "points, error, match",
    [
        (np.zeros((4, 3)), ValueError, r"shape \(n, 2\)"),
        (np.zeros(4), ValueError, r"shape \(n, 2\)"),
        (np.zeros((0, 2)), ValueError, "empty"),
        (np.array([[np.nan, 0.0]]), ValueError, "NaN or inf"),
        (np.array([["a", "b"]]), TypeError, "numeric"),
        ("points", TypeError, "numpy array or torch tensor"),
    ],
)
def test_bad_points(exact, points, error, match):
    with pytest.raises(error, match=match):
        exact(points)


def test_error_norms_by_hand():
    value, reference = np.array([1.0, 2.0, 2.0]), np.array([1.0, 2.0, 3.0])
    assert relative_error(value, reference) == pytest.approx(1 / np.sqrt(14))
    assert relative_error(value, reference, "max") == pytest.approx(1 / 3)
    with pytest.raises(ValueError, match="unknown norm"):
        relative_error(value, reference, "h1")


def test_error_vs_a_scaled_copy_is_the_scale(exact):
    problem = exact.problem
    scaled = Solution(problem, lambda x: 1.01 * exact.field(x), "scaled")
    assert scaled.error_vs() == pytest.approx(0.01, rel=1e-12)
    assert scaled.error_vs(exact, norm="max") == pytest.approx(0.01, rel=1e-12)
    assert scaled.error_vs(lambda x: exact(x)) == pytest.approx(0.01, rel=1e-12)
    with pytest.raises(TypeError, match="Solution or a callable"):
        scaled.error_vs(3.0)


def test_gauge_fields_are_compared_up_to_a_constant_per_time_level():
    from problems import taylor_green

    problem = taylor_green(t_final=0.5)
    assert problem.gauge == ("p",)
    reference = problem.reference()

    def shifted(points):  # the exact solution with p shifted by 3 + t: as good as exact
        values = reference(points).clone()  # from_function hands torch points
        values[:, 2] += 3.0 + points[:, -1]
        return values

    solution = Solution.from_function(problem, shifted)
    assert solution.error_vs(reference) < 1e-12
    assert solution.error_vs(reference, field="p", norm="max") < 1e-12
    ungauged = Solution.from_function(dataclasses.replace(problem, gauge=()), shifted)
    assert ungauged.error_vs(reference, field="p") > 1.0
    assert ungauged.error_vs(reference, field="u") < 1e-12  # velocities untouched either way


def test_gauge_must_name_fields():
    from problems import cavity

    with pytest.raises(ValueError, match="gauge names fields"):
        dataclasses.replace(cavity(), gauge=("q",))
