"""ParaView export: VTU/PVD read back by meshio with the right data; atomic; clear refusals."""

import math
import xml.etree.ElementTree as ET

import meshio
import numpy as np
import pytest
import torch

from pde_lab import solve
from pde_lab.solution import Solution
from problems import burgers, poisson, poisson_lshape


def test_fem_solution_to_vtu_round_trip(tmp_path):
    solution = solve(poisson(), "fem", order=1, h=0.1)
    path = solution.export(tmp_path / "u.vtu")
    mesh = meshio.read(path)
    assert "triangle" in mesh.cells_dict and mesh.points.shape[1] == 3
    xy = mesh.points[:, :2]
    exact = np.sin(math.pi * xy[:, 0]) * np.sin(math.pi * xy[:, 1])
    np.testing.assert_allclose(mesh.point_data["u"], solution(xy)[:, 0], rtol=0, atol=1e-12)
    np.testing.assert_allclose(mesh.point_data["u_error"], mesh.point_data["u"] - exact, atol=1e-12)
    assert np.abs(mesh.point_data["u_error"]).max() < 0.02
    assert sorted(p.name for p in tmp_path.iterdir()) == ["u.vtu"]  # no temporary files left


def test_neural_style_solution_on_lshape_uses_the_geometry_mesh(tmp_path):
    problem = poisson_lshape()
    solution = Solution(problem, lambda x: (x[:, :1] ** 2 + x[:, 1:] ** 2), "quadratic")
    mesh = meshio.read(solution.export(tmp_path / "l.vtu", h=0.1))
    centroids = mesh.points[mesh.cells_dict["triangle"]].mean(axis=1)[:, :2]
    assert problem.geometry.contains(centroids).all()  # the notch is not filled
    np.testing.assert_allclose(mesh.point_data["u"], (mesh.points[:, :2] ** 2).sum(1), atol=1e-12)


def test_time_series_to_pvd(tmp_path):
    problem = burgers()
    exact = problem.reference()
    path = exact.export(tmp_path / "burgers.pvd", n_frames=5)
    root = ET.parse(path).getroot()
    entries = root.findall("./Collection/DataSet")
    times = [float(e.get("timestep")) for e in entries]
    np.testing.assert_allclose(times, np.linspace(0, 1, 5))
    for entry, t in zip(entries, times, strict=True):
        mesh = meshio.read(tmp_path / entry.get("file"))
        assert "line" in mesh.cells_dict
        x = mesh.points[:, 0]
        expected = exact(np.column_stack([x, np.full_like(x, t)]))[:, 0]
        np.testing.assert_allclose(mesh.point_data["u"], expected, atol=1e-14)
    np.testing.assert_allclose(meshio.read(tmp_path / "burgers_0000.vtu").point_data["u"],
                               -np.sin(math.pi * meshio.read(tmp_path / "burgers_0000.vtu").points[:, 0]), atol=1e-12)
    single = exact.export(tmp_path / "t05.vtu", time=0.5)
    assert meshio.read(single).point_data["u"].shape[0] > 100


def test_failed_export_leaves_nothing_behind(tmp_path, monkeypatch):
    exact = burgers().reference()
    calls = {"n": 0}
    real_write = meshio.write

    def flaky(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            raise OSError("disk full")
        return real_write(*args, **kwargs)

    monkeypatch.setattr(meshio, "write", flaky)
    with pytest.raises(OSError, match="disk full"):
        exact.export(tmp_path / "b.pvd", n_frames=5)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "name, match",
    [("u.vtk", "unsupported file extension '.vtk'"), ("u.xdmf", "supported: .vtu, .pvd"),
     ("missing/u.vtu", "does not exist")],
)
def test_bad_export_paths(tmp_path, name, match):
    with pytest.raises(ValueError, match=match):
        poisson().reference().export(tmp_path / name)
    assert list(tmp_path.iterdir()) == []


def test_wrong_kind_of_file_for_the_problem(tmp_path):
    with pytest.raises(ValueError, match="steady: export to .vtu"):
        poisson().reference().export(tmp_path / "u.pvd")
    with pytest.raises(ValueError, match="time-dependent: export to .pvd"):
        burgers().reference().export(tmp_path / "u.vtu")
    (tmp_path / "folder.vtu").mkdir()
    with pytest.raises(ValueError, match="is a folder"):
        poisson().reference().export(tmp_path / "folder.vtu")
    with pytest.raises(TypeError, match="str or os.PathLike"):
        poisson().reference().export(3)


def test_plot_writes_png_with_three_panels(tmp_path):
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    solution = Solution(poisson(), lambda x: 1.01 * np.sin(np.pi * x[:, :1]) * np.sin(np.pi * x[:, 1:]), "scaled",
                        history={"iteration": [0, 1, 2], "loss": [1.0, 0.1, 0.01], "pde": [1.0, 0.1, 0.01],
                                 "epsilon": [1e-2, 1e-2, 0.1], "lm_iterations": [5, 4, 4]})
    figure = solution.plot()
    assert len(figure.axes) >= 3 and "1.00e-02" in figure.axes[1].get_title()  # rel. L2 of a 1% scaling
    # the loss panel: the total and the loss terms, not the solvers' diagnostics
    assert [t.get_text() for t in figure.axes[2].get_legend().get_texts()] == ["total", "pde"]
    path = solution.plot(tmp_path / "u.png")
    image = matplotlib.image.imread(path)
    assert image.shape[0] > 200 and image.shape[1] > 600
    with pytest.raises(ValueError, match="unsupported file extension"):
        solution.plot(tmp_path / "u.bmp")
    assert torch.is_tensor(solution(torch.zeros(1, 2)))
