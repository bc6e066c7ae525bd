"""Numerical checks of geometries/: membership, sampling, normals, meshes, errors."""

from __future__ import annotations

import math
import pickle
import subprocess
import sys
import textwrap
from dataclasses import FrozenInstanceError
from pathlib import Path

import numpy as np
import pytest

from geometries import (
    Box,
    CSGDifference,
    CSGIntersection,
    CSGUnion,
    Disk,
    Geometry,
    Interval,
    LShape,
    Polygon,
    Rectangle,
    TimeDomain,
)

REPO = Path(__file__).resolve().parents[1]
METHODS = ["uniform", "sobol", "hammersley", "halton", "lhs"]

UNIT_SQUARE = Rectangle((0.0, 0.0), (1.0, 1.0))
DISK = Disk((0.5, -0.25), 0.75)
# A plate with a hole that cuts through its top edge, and a union sticking out of it.
PLATE_WITH_HOLE = Rectangle((-1.0, -1.0), (1.0, 1.0)) - Disk((0.0, 1.0), 0.5)
UNION = Rectangle((0.0, 0.0), (2.0, 1.0)) | Disk((2.0, 0.5), 0.5)

GEOMETRIES = {
    "interval": Interval(-1.0, 2.0),
    "rectangle": Rectangle((0.0, -1.0), (2.0, 0.5)),
    "box": Box((0.0, 0.0, 0.0), (1.0, 2.0, 0.5)),
    "disk": DISK,
    "lshape": LShape(),
    "polygon": Polygon([(0, 0), (2, 0), (2, 1), (1, 2), (0, 1)]),
    "difference": PLATE_WITH_HOLE,
    "union": UNION,
    "intersection": Rectangle((0.0, 0.0), (2.0, 2.0)) & Disk((0.0, 0.0), 1.5),
}


def run_python(code: str) -> subprocess.CompletedProcess:
    command = [sys.executable, "-c", textwrap.dedent(code)]
    return subprocess.run(command, cwd=REPO, capture_output=True, text=True, check=False)


def element_measures(mesh) -> np.ndarray:
    """Lengths, areas or volumes of the simplices of a scikit-fem mesh."""
    vertices = mesh.p[:, mesh.t]  # (dim, dim + 1, n_elements)
    jacobians = np.moveaxis(vertices[:, 1:, :] - vertices[:, :1, :], 2, 0)
    return np.abs(np.linalg.det(jacobians)) / math.factorial(mesh.dim())


def boundary_segments(mesh) -> tuple[np.ndarray, np.ndarray]:
    """Start and end points, shape ``(m, 2)`` each, of a 2D mesh's boundary facets."""
    facets = mesh.facets[:, mesh.boundary_facets()]
    return mesh.p[:, facets[0]].T, mesh.p[:, facets[1]].T


def assert_membership(geometry, points, contains, on_boundary) -> None:
    points = np.array(points, dtype=float)
    np.testing.assert_array_equal(geometry.contains(points), contains)
    np.testing.assert_array_equal(geometry.on_boundary(points), on_boundary)


def longest_edge(mesh) -> float:
    edges = {1: mesh.t, 2: mesh.facets, 3: mesh.edges}[mesh.dim()]
    return float(np.linalg.norm(mesh.p[:, edges[1]] - mesh.p[:, edges[0]], axis=0).max())


# --------------------------------------------------------------------- import hygiene
def test_import_geometries_imports_neither_deepxde_nor_torch():
    result = run_python(
        """
        import sys
        import geometries
        shapes = [geometries.Rectangle((0, 0), (1, 1)) - geometries.Disk((0, 0), 0.5)]
        repr(shapes); geometries.LShape().mesh(0.5); geometries.TimeDomain(0, 1).grid(3)
        print(sorted(m for m in ("deepxde", "torch") if m in sys.modules))
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_deepxde_import_is_silent_and_keeps_torch_defaults():
    result = run_python(
        """
        import torch
        torch.set_default_dtype(torch.float64)
        from geometries._deepxde import deepxde_geometry_module
        module = deepxde_geometry_module()
        assert deepxde_geometry_module() is module and hasattr(module, "CSGDifference")
        assert torch.get_default_dtype() == torch.float64, torch.get_default_dtype()
        assert torch.get_default_device() == torch.device("cpu")
        from geometries import Rectangle
        Rectangle((0, 0), (1, 1)).sample_boundary(10, seed=0)
        import deepxde.config
        assert deepxde.config.real.precision == 32  # DeepXDE's own setting is left alone
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "" and result.stderr == ""


def test_preserved_torch_defaults_undoes_what_deepxde_does_on_gpu_machines():
    torch = pytest.importorskip("torch")
    from geometries._deepxde import preserved_torch_defaults

    dtype, device = torch.get_default_dtype(), torch.get_default_device()
    with preserved_torch_defaults():
        torch.set_default_dtype(torch.float16 if dtype != torch.float16 else torch.float32)
        torch.set_default_device("meta")  # stands in for DeepXDE's set_default_device("cuda")
        assert torch.empty(1).device.type == "meta"
    assert torch.get_default_dtype() == dtype
    assert torch.get_default_device() == device
    assert torch.empty(1).device == device


def test_deepxde_chatter_is_swallowed_at_call_time(capfd):
    # DeepXDE prints "Warning: ... boundary_normal called on vertices" for box corners.
    normals = UNIT_SQUARE.boundary_normal(np.array([[0.0, 0.0], [1.0, 1.0]]))
    assert capfd.readouterr() == ("", "")
    np.testing.assert_allclose(normals, np.array([[-1.0, -1.0], [1.0, 1.0]]) / math.sqrt(2))


# ------------------------------------------------------------------------- sampling
@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("name", list(GEOMETRIES))
def test_samples_lie_strictly_inside_and_on_the_boundary(name, method):
    geometry = GEOMETRIES[name]
    interior = geometry.sample_interior(150, method=method, seed=3)
    assert interior.shape == (150, geometry.dim) and interior.dtype == np.float64
    assert geometry.contains(interior).all() and not geometry.on_boundary(interior).any()
    lo, hi = geometry.bounds
    assert np.all(interior > lo) and np.all(interior < hi)
    boundary = geometry.sample_boundary(120, method=method, seed=5)
    assert boundary.shape == (120, geometry.dim) and boundary.dtype == np.float64
    assert geometry.on_boundary(boundary).all() and geometry.contains(boundary).all()
    if geometry.dim > 1:  # DeepXDE's own CSG samplers repeat Sobol points; ours must not
        assert len(np.unique(boundary, axis=0)) == len(boundary)


def test_csg_boundary_samples_cover_both_operands_boundaries():
    points = PLATE_WITH_HOLE.sample_boundary(400, method="sobol", seed=0)
    on_hole = np.isclose(np.linalg.norm(points - [0.0, 1.0], axis=1), 0.5)
    on_square = np.isclose(np.abs(points).max(axis=1), 1.0)
    assert np.all(on_hole | on_square)
    assert 0.1 < on_hole.mean() < 0.9


def test_interior_samples_are_uniform():  # share of points in a sub-region ~ its area share
    disk_points = DISK.sample_interior(4096, "sobol")
    inner = np.linalg.norm(disk_points - DISK.center, axis=1) < DISK.radius / 2
    assert abs(inner.mean() - 0.25) < 0.01
    lshape_points = LShape().sample_interior(3000, "halton")
    for quadrant in ([-1, -1], [-1, 1], [1, -1]):
        share = np.all(np.sign(lshape_points) == quadrant, axis=1).mean()
        assert abs(share - 1 / 3) < 0.02
    hole_points = PLATE_WITH_HOLE.sample_interior(4000, "sobol")
    area = 4.0 - math.pi * 0.25 / 2
    assert abs((hole_points[:, 1] > 0).mean() - (2.0 - math.pi * 0.25 / 2) / area) < 0.02


@pytest.mark.parametrize("method", ["uniform", "lhs"])
def test_seeded_sampling_is_reproducible_and_leaves_numpy_state_alone(method):
    np.random.seed(1234)
    expected_next = np.random.random(3)
    np.random.seed(1234)
    for geometry in (DISK, PLATE_WITH_HOLE, GEOMETRIES["box"]):
        first = geometry.sample_interior(24, method, seed=7)
        again = geometry.sample_interior(24, method, seed=7)
        other = geometry.sample_interior(24, method, seed=8)
        np.testing.assert_array_equal(first, again)
        assert not np.allclose(first, other)
        boundary = geometry.sample_boundary(24, method, seed=7)
        np.testing.assert_array_equal(boundary, geometry.sample_boundary(24, method, seed=7))
        unseeded = geometry.sample_interior(24, method)
        assert not np.allclose(unseeded, geometry.sample_interior(24, method))
    times = TimeDomain(0.0, 2.0).sample(32, method, seed=1)
    np.testing.assert_array_equal(times, TimeDomain(0.0, 2.0).sample(32, method, seed=1))
    np.testing.assert_array_equal(np.random.random(3), expected_next)
    # Sobol, Halton and Hammersley are deterministic sequences: the seed does not matter.
    sobol = DISK.sample_interior(50, "sobol", seed=1)
    np.testing.assert_array_equal(sobol, DISK.sample_interior(50, "sobol", seed=2))


def test_sampling_an_empty_set_raises_instead_of_looping():
    with pytest.raises(ValueError, match="could only draw 0 of 5 interior points"):
        (UNIT_SQUARE - UNIT_SQUARE).sample_interior(5, "uniform", seed=0)


# -------------------------------------------------------------------------- normals
def test_disk_normals_are_radial_unit_vectors():
    points = DISK.sample_boundary(300, "uniform", seed=0)
    expected = (points - np.array(DISK.center)) / DISK.radius
    np.testing.assert_allclose(DISK.boundary_normal(points), expected, rtol=0, atol=1e-12)
    np.testing.assert_allclose(np.linalg.norm(expected, axis=1), 1.0, atol=1e-12)
    off_boundary = np.array([[0.5, -0.25], [0.6, -0.2]])  # incl. the centre (0/0 in DeepXDE)
    np.testing.assert_array_equal(DISK.boundary_normal(off_boundary), 0.0)
    hole_bottom = np.array([[0.0, 0.5]])  # on the hole of radius 0.5 centred at (0, 1)
    np.testing.assert_allclose(PLATE_WITH_HOLE.boundary_normal(hole_bottom), [[0, 1]], atol=1e-12)


def test_rectangle_normals_on_each_edge():
    rectangle = GEOMETRIES["rectangle"]
    (x0, y0), (x1, y1) = rectangle.lo, rectangle.hi
    points = rectangle.sample_boundary(400, "sobol", seed=0)
    normals = rectangle.boundary_normal(points)
    edges = {
        (-1.0, 0.0): np.isclose(points[:, 0], x0),
        (1.0, 0.0): np.isclose(points[:, 0], x1),
        (0.0, -1.0): np.isclose(points[:, 1], y0),
        (0.0, 1.0): np.isclose(points[:, 1], y1),
    }
    corners = sum(mask.astype(int) for mask in edges.values()) > 1
    for normal, mask in edges.items():
        assert (mask & ~corners).sum() > 20
        assert np.all(normals[mask & ~corners] == normal), normal


# ---------------------------------------------------------------- membership and grids
def test_csg_membership_on_hand_picked_points():
    T, F = True, False
    points = [[0, 0], [0, 0.75], [0, 0.5], [0.9, 0.9], [1, 1], [1.5, 0]]
    assert_membership(PLATE_WITH_HOLE, points, [T, F, T, T, T, F], [F, F, T, F, T, F])
    points = [[1, 0.5], [2.4, 0.5], [2.6, 0.5], [2, 1], [2, 0], [-0.1, 0.5], [2.5, 0.5], [1, 0]]
    assert_membership(UNION, points, [T, T, F, T, T, F, T, T], [F, F, F, F, F, F, T, T])
    lens = Disk((0.0, 0.0), 1.0) & Disk((1.0, 0.0), 1.0)
    assert_membership(lens, [[0.5, 0], [0.5, 0.9], [-0.5, 0], [0, 0]], [T, F, F, T], [F, F, F, T])


def test_lshape_area_from_contains():
    rng = np.random.default_rng(0)
    points = rng.uniform(-1.0, 1.0, size=(200_000, 2))
    inside = LShape().contains(points)
    area, standard_error = 4 * inside.mean(), 4 * inside.std() / math.sqrt(len(points))
    assert abs(area - 3.0) < 4 * standard_error
    grid = LShape().grid(401)
    assert abs(4 * len(grid) / 401**2 - 3.0) < 0.02
    assert not np.any((grid[:, 0] > 0) & (grid[:, 1] > 0))
    assert [0.0, 0.0] in grid.tolist() and [1.0, -1.0] in grid.tolist()
    # DeepXDE's polygon on_boundary alone would accept this point 0.002 outside the L-shape.
    assert not LShape().contains(np.array([[0.5, 0.002]])).any()


def test_grid_is_the_box_grid_restricted_to_the_domain():
    grid = UNIT_SQUARE.grid(11)
    assert grid.shape == (121, 2)
    np.testing.assert_allclose(np.unique(grid[:, 0]), np.linspace(0, 1, 11))
    disk_grid = Disk((0.0, 0.0), 1.0).grid(201)
    assert abs(4 * len(disk_grid) / 201**2 - math.pi) < 0.05
    np.testing.assert_array_equal(TimeDomain(0.5, 1.5).grid(3), [[0.5], [1.0], [1.5]])


# --------------------------------------------------------------------------- meshes
@pytest.mark.parametrize("h", [0.5, 0.37, 0.1])
def test_rectangle_mesh_is_exact_and_respects_h(h):
    rectangle = Rectangle((-0.3, 1.0), (1.7, 1.9))
    mesh = rectangle.mesh(h)
    assert h / 2 < longest_edge(mesh) <= h * (1 + 1e-12)
    assert abs(element_measures(mesh).sum() - rectangle.area) < 1e-12
    starts, ends = boundary_segments(mesh)
    assert rectangle.on_boundary(0.5 * (starts + ends)).all()


def test_lshape_mesh_is_exact_with_corner_node():
    for h in (0.5, 0.21, 0.05):
        mesh = LShape().mesh(h)
        assert longest_edge(mesh) <= h * (1 + 1e-12)
        assert abs(element_measures(mesh).sum() - 3.0) < 1e-12
        assert np.any(np.all(mesh.p == 0.0, axis=0))  # the re-entrant corner is a node
        assert LShape().contains(mesh.p.T).all()
        starts, ends = boundary_segments(mesh)
        assert LShape().on_boundary(0.5 * (starts + ends)).all()
        assert abs(np.linalg.norm(ends - starts, axis=1).sum() - 8.0) < 1e-12  # perimeter


def test_disk_mesh_area_converges_at_second_order():
    disk = Disk((1.0, -2.0), 1.5)
    hs = [0.6, 0.3, 0.15, 0.075]
    errors = []
    for h in hs:
        mesh = disk.mesh(h)
        assert longest_edge(mesh) <= h
        boundary = mesh.p[:, mesh.boundary_nodes()].T
        np.testing.assert_allclose(
            np.linalg.norm(boundary - disk.center, axis=1), disk.radius, atol=1e-12
        )
        errors.append(disk.area - element_measures(mesh).sum())
    assert all(error > 0 for error in errors)  # inscribed polygon
    rates = np.log2(np.array(errors[:-1]) / np.array(errors[1:]))
    assert np.all(rates > 1.8) and np.all(rates < 2.2), rates


def test_box_and_interval_meshes():
    box = GEOMETRIES["box"]
    mesh = box.mesh(0.3)
    assert longest_edge(mesh) <= 0.3 * (1 + 1e-12)
    assert abs(element_measures(mesh).sum() - box.volume) < 1e-12
    line = Interval(-1.0, 2.0).mesh(0.4)
    np.testing.assert_allclose(line.p[0], np.linspace(-1.0, 2.0, 9))
    assert longest_edge(line) <= 0.4


@pytest.mark.parametrize(
    "geometry", [PLATE_WITH_HOLE, UNION, GEOMETRIES["intersection"], GEOMETRIES["polygon"]]
)
def test_unmeshable_geometries_say_so(geometry):
    with pytest.raises(ValueError, match=f"{type(geometry).__name__} cannot be meshed.*gmsh"):
        geometry.mesh(0.1)


def test_mesh_size_limit():
    with pytest.raises(ValueError, match="elements .*use a larger h"):
        UNIT_SQUARE.mesh(1e-5)


# ------------------------------------------------------------- value-object behaviour
def test_equality_hash_repr_and_immutability():
    assert Rectangle((0, 0), (1, 1)) == Rectangle([0.0, 0.0], np.array([1, 1]))
    assert hash(Disk((0, 0), 1)) == hash(Disk([0.0, 0.0], 1.0))
    assert UNIT_SQUARE | DISK == Rectangle((0, 0), (1, 1)) | Disk([0.5, -0.25], 0.75)
    assert repr(DISK) == "Disk(center=(0.5, -0.25), radius=0.75)"
    assert repr(LShape()) == "LShape()"
    assert isinstance(PLATE_WITH_HOLE, CSGDifference) and isinstance(UNION, CSGUnion)
    assert isinstance(GEOMETRIES["intersection"], CSGIntersection) and isinstance(DISK, Geometry)
    with pytest.raises(TypeError):
        UNIT_SQUARE | 3
    with pytest.raises(TypeError, match="Geometry objects"):
        CSGUnion(UNIT_SQUARE, "disk")
    with pytest.raises(FrozenInstanceError):
        DISK.radius = 2.0
    DISK.contains(np.zeros((1, 2)))  # builds the cached DeepXDE object
    restored = pickle.loads(pickle.dumps(PLATE_WITH_HOLE))
    assert restored == PLATE_WITH_HOLE
    np.testing.assert_array_equal(restored.contains(np.array([[0.0, 0.75]])), [False])


def test_polygon_accepts_triangles_and_rectangles_that_deepxde_refuses():
    triangle = Polygon([(0, 0), (1, 0), (0, 1)])
    points = np.array([[0.2, 0.2], [0.6, 0.6], [0.5, 0.5]])
    np.testing.assert_array_equal(triangle.contains(points), [True, False, True])
    square = Polygon([(0, 0), (0, 1), (1, 1), (1, 0)])  # clockwise
    assert square.area == 1.0
    grid = np.random.default_rng(1).uniform(-0.5, 1.5, size=(1000, 2))
    np.testing.assert_array_equal(square.contains(grid), UNIT_SQUARE.contains(grid))


# ---------------------------------------------------------------------- bad inputs
@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: Interval(1.0, 1.0), "a < b"),
        (lambda: Interval(0.0, math.inf), "finite"),
        (lambda: Rectangle((0, 0), (1, 0)), "lo < hi"),
        (lambda: Rectangle((0, 0), (1, 1, 1)), "3 coordinates|shape"),
        (lambda: Rectangle((0, math.nan), (1, 1)), "finite"),
        (lambda: Box((0, 0, 0), (1, -1, 1)), "lo < hi"),
        (lambda: Disk((0, 0), 0.0), "radius must be > 0"),
        (lambda: Disk((math.inf, 0), 1.0), "finite"),
        (lambda: Polygon([(0, 0), (1, 0)]), "k >= 3"),
        (lambda: Polygon([(0, 0), (1, 1), (1, 0), (0, 1)]), "not simple"),
        (lambda: Polygon([(0, 0), (1, 0), (2, 0)]), "zero area|overlap"),
        (lambda: Polygon([(0, 0), (1, 0), (1, 0), (0, 1)]), "zero-length edge"),
        (lambda: TimeDomain(1.0, 0.0), "t0 < t1"),
        (lambda: Rectangle((0, 0), (1, 1)) | Interval(0, 1), "dimensions differ"),
        (lambda: Rectangle((0, 0), (1, 1)) & Rectangle((1, 0), (2, 1)), "empty or has zero"),
        (lambda: UNIT_SQUARE.contains(np.zeros((3, 3))), r"shape \(n, 2\)"),
        (lambda: UNIT_SQUARE.on_boundary(np.zeros(2)), r"shape \(n, 2\)"),
        (lambda: UNIT_SQUARE.boundary_normal([[0.0, 0.0, 0.0]]), r"shape \(n, 2\)"),
        (lambda: TimeDomain(0, 1).contains(np.zeros(3)), r"shape \(n, 1\)"),
        (lambda: UNIT_SQUARE.sample_interior(0), "positive integer"),
        (lambda: UNIT_SQUARE.sample_boundary(-3), "positive integer"),
        (lambda: UNIT_SQUARE.sample_interior(2.5), "positive integer"),
        (lambda: TimeDomain(0, 1).sample(0), "positive integer"),
        (lambda: UNIT_SQUARE.sample_interior(9, method="rand"), "known methods: 'uniform'"),
        (lambda: TimeDomain(0, 1).sample(5, method="Sobol"), "unknown sampling method 'Sobol'"),
        (lambda: UNIT_SQUARE.sample_interior(10, seed=-1), "seed"),
        (lambda: UNIT_SQUARE.grid(1), "at least 2"),
        (lambda: UNIT_SQUARE.mesh(0.0), "h must be finite and > 0"),
        (lambda: DISK.mesh(-0.1), "h must be finite and > 0"),
        (lambda: LShape().mesh(math.nan), "h must be finite and > 0"),
    ],
)
def test_bad_input_raises_a_clear_value_error(make, message):
    with pytest.raises(ValueError, match=message):
        make()


@pytest.mark.parametrize("method", ["hammersley", "sobol", "halton"])
def test_rejection_sampling_covers_every_arm_of_the_lshape(method):
    """Regression: taking the *first* n accepted points of a Hammersley sequence left the
    upper-left arm with 4 of 800 points. Each of the three unit squares holds a third."""
    points = LShape().sample_interior(900, method=method, seed=0)
    arms = [((points[:, 0] < 0) & (points[:, 1] > 0)).sum(), ((points[:, 0] < 0) & (points[:, 1] < 0)).sum(),
            ((points[:, 0] > 0) & (points[:, 1] < 0)).sum()]
    assert min(arms) > 250, arms


@pytest.mark.parametrize("geometry", [Interval(-1.0, 1.0), Rectangle((0.0, 0.0), (2.0, 1.0))])
def test_space_time_samples_fill_the_cylinder_evenly(geometry):
    """Joint low-discrepancy sampling: every cell of a 4^(d+1) space-time grid gets its share."""
    points = geometry.sample_space_time(4096, (0.0, 2.0), method="hammersley", seed=0)
    lo, hi = geometry.bounds
    unit = np.column_stack([(points[:, :-1] - lo) / (hi - lo), points[:, -1:] / 2.0])
    assert points.shape == (4096, geometry.dim + 1) and ((unit > 0) & (unit < 1)).all()
    cells = np.floor(unit * 4).astype(int) @ (4 ** np.arange(unit.shape[1]))
    counts = np.bincount(cells, minlength=4 ** unit.shape[1])
    expected = 4096 / 4 ** unit.shape[1]
    assert np.abs(counts - expected).max() < 0.1 * expected, counts
