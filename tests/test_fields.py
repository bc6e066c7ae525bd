"""Lazy derivative access: every derivative against its closed form (float64)."""

import pytest
import torch

from pde_lab.fields import Fields


def _fields(points):
    def function(p):
        x, y, t = p[:, 0], p[:, 1], p[:, 2]
        u = torch.sin(2 * x) * torch.exp(0.5 * y) * t**2
        v = x**3 * y + torch.cos(t)
        return torch.stack([u, v], dim=1)

    return Fields(function, points.clone().requires_grad_(True), ("u", "v"), ("x", "y", "t"))


@pytest.fixture
def points():
    generator = torch.Generator().manual_seed(0)
    return torch.rand(64, 3, generator=generator, dtype=torch.float64) * 2 - 1


def test_derivatives_match_closed_forms(points):
    f = _fields(points)
    x, y, t = points.unbind(1)
    s, c, e = torch.sin(2 * x), torch.cos(2 * x), torch.exp(0.5 * y)
    expected = {
        "u": s * e * t**2,
        "u_x": 2 * c * e * t**2,
        "u_xx": -4 * s * e * t**2,
        "u_xy": c * e * t**2,
        "u_yx": c * e * t**2,
        "u_t": 2 * s * e * t,
        "u_xxxx": 16 * s * e * t**2,
        "v_xxy": 6 * x,
        "v_t": -torch.sin(t),
        "v_tt": -torch.cos(t),
        "v_yy": torch.zeros_like(x),
    }
    for name, value in expected.items():
        torch.testing.assert_close(getattr(f, name), value, rtol=1e-12, atol=1e-12, msg=name)
    torch.testing.assert_close(f.lap("u"), -4 * s * e * t**2 + 0.25 * s * e * t**2, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(f.grad("v"), torch.stack([3 * x**2 * y, x**3], 1), rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(f.div(("u", "v")), 2 * c * e * t**2 + x**3, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(f.space, points[:, :2])


def test_derivatives_are_cached_and_differentiable(points):
    f = _fields(points)
    first = f.u_xx
    assert f.u_xx is first
    assert f.u_xx.requires_grad  # a loss built on it can be differentiated further


def test_unknown_names_raise_with_a_hint(points):
    f = _fields(points)
    with pytest.raises(AttributeError, match="not a field, coordinate or derivative"):
        f.w_x
    with pytest.raises(AttributeError, match="u_xx"):
        f.u_q
    with pytest.raises(ValueError, match="unknown field"):
        f.lap("w")
    with pytest.raises(ValueError, match="shape"):
        Fields(lambda p: p, points[:, :2], ("u",), ("x", "y", "t"))
