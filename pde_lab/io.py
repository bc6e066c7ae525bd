"""ParaView export through meshio: VTU for steady fields, PVD + one VTU per time otherwise.

Every file is written to a temporary name in the target folder and renamed into place
only when all files of the export are complete, so a failure leaves nothing half-written.
"""

from __future__ import annotations

import os
import tempfile
from os import PathLike
from pathlib import Path
from typing import TYPE_CHECKING, Any
from xml.sax.saxutils import quoteattr

import numpy as np

from pde_lab.validation import check_int

if TYPE_CHECKING:
    from pde_lab.solution import Solution

__all__ = ["export_solution", "check_writable", "write_atomically"]

SUPPORTED = (".vtu", ".pvd")
_CELL_TYPES = {"MeshLine1": "line", "MeshTri1": "triangle", "MeshQuad1": "quad",
               "MeshTet1": "tetra", "MeshHex1": "hexahedron"}


def check_writable(path: str | PathLike, suffixes: tuple[str, ...]) -> Path:
    """Validate an output path: known extension, existing writable folder."""
    if not isinstance(path, (str, PathLike)):
        raise TypeError(f"path must be a str or os.PathLike, got {type(path).__name__}")
    path = Path(path)
    if path.suffix.lower() not in suffixes:
        raise ValueError(f"unsupported file extension {path.suffix!r} for {path}; supported: {', '.join(suffixes)}")
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise ValueError(f"cannot write {path}: folder {folder} does not exist")
    if not os.access(folder, os.W_OK):
        raise ValueError(f"cannot write {path}: folder {folder} is not writable")
    if path.is_dir():
        raise ValueError(f"cannot write {path}: it is a folder")
    return path


def _export_mesh(solution: Solution, h: float | None) -> tuple[np.ndarray, list]:
    """Points ``(n, d)`` and meshio cells for the spatial domain of ``solution``."""
    geometry = solution.problem.geometry
    mesh = getattr(solution.model, "mesh", None)
    if mesh is None:
        lower, upper = (np.asarray(b, dtype=float) for b in geometry.bounds)
        size = h if h is not None else float(np.max(upper - lower)) / {1: 400, 2: 64, 3: 20}.get(geometry.dim, 10)
        try:
            mesh = geometry.mesh(size)
        except ValueError:  # not meshable (CSG...): export a point cloud on a grid
            points = np.asarray(geometry.grid({1: 401, 2: 65, 3: 21}.get(geometry.dim, 5)), dtype=float)
            return points, [("vertex", np.arange(len(points))[:, None])]
    cell_type = _CELL_TYPES.get(type(mesh).__name__)
    if cell_type is None:
        raise ValueError(f"cannot export a {type(mesh).__name__} mesh to VTU")
    return np.asarray(mesh.p.T, dtype=float), [(cell_type, np.asarray(mesh.t.T, dtype=np.int64))]


def _point_data(solution: Solution, points: np.ndarray) -> dict[str, np.ndarray]:
    values = solution(points)
    data = {name: values[:, i].copy() for i, name in enumerate(solution.problem.fields)}
    exact = solution.problem.exact_solution
    if exact is not None and solution.solver != "exact":
        reference = solution.problem.reference()(points)
        for i, name in enumerate(solution.problem.fields):
            data[f"{name}_error"] = values[:, i] - reference[:, i]
    return data


def _write_vtu(target: Path, points: np.ndarray, cells: list, data: dict) -> None:
    import meshio

    padded = np.zeros((len(points), 3))
    padded[:, : points.shape[1]] = points
    meshio.write(str(target), meshio.Mesh(padded, cells, point_data=data), file_format="vtu")


def _temporary(folder: Path, suffix: str) -> Path:
    handle, name = tempfile.mkstemp(prefix=".pde_lab-", suffix=suffix, dir=folder)
    os.close(handle)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(name, 0o666 & ~umask)  # mkstemp makes 0600; give the usual permissions
    return Path(name)


def write_atomically(path: Path, write: Any) -> Path:
    """``write(temporary)`` in ``path``'s folder, then rename into place; nothing left on failure."""
    path = Path(path)
    temporary = _temporary(path.parent, path.suffix)
    try:
        write(temporary)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return path


def export_solution(
    solution: Solution,
    path: str | PathLike,
    *,
    times: Any = None,
    n_frames: int = 21,
    time: float | None = None,
    h: float | None = None,
) -> Path:
    """Write ``solution`` for ParaView and return the path written.

    Parameters
    ----------
    path
        ``*.vtu`` for a steady solution (or one instant, with ``time=``), ``*.pvd`` for a
        time series: the PVD collection plus ``<stem>_0000.vtu, ...`` beside it.
    times, n_frames
        Instants of the series (default ``n_frames`` evenly spaced over the time span).
    time
        The instant written to a single VTU for an evolution problem.
    h
        Mesh size of the export mesh (default: about 64 cells across in 2D).
    """
    path = check_writable(path, SUPPORTED)
    problem = solution.problem
    points, cells = _export_mesh(solution, h)
    frames: list[tuple[float | None, Path]] = []
    if path.suffix.lower() == ".vtu":
        if problem.is_time_dependent:
            if time is None:
                raise ValueError(f"{problem.name!r} is time-dependent: export to .pvd, or pass time= for one instant")
            frames.append((float(time), path))
        elif time is not None:
            raise ValueError(f"{problem.name!r} is steady; time= does not apply")
        else:
            frames.append((None, path))
    else:
        if not problem.is_time_dependent:
            raise ValueError(f"{problem.name!r} is steady: export to .vtu (.pvd is for time series)")
        if times is None:
            check_int("n_frames", n_frames)
            times = np.linspace(*problem.time_span, n_frames)
        times = np.asarray(times, dtype=float).reshape(-1)
        if times.size == 0 or not np.all(np.isfinite(times)):
            raise ValueError("times must be a non-empty array of finite instants")
        frames = [(float(t), path.with_name(f"{path.stem}_{k:04d}.vtu")) for k, t in enumerate(times)]

    written: list[tuple[Path, Path]] = []
    try:
        for instant, target in frames:
            xt = points if instant is None else np.hstack([points, np.full((len(points), 1), instant)])
            temporary = _temporary(path.parent, ".vtu")
            written.append((temporary, target))
            _write_vtu(temporary, points, cells, _point_data(solution, xt))
        if path.suffix.lower() == ".pvd":
            temporary = _temporary(path.parent, ".pvd")
            written.append((temporary, path))
            entries = "\n".join(
                f'    <DataSet timestep="{instant!r}" group="" part="0" file={quoteattr(target.name)}/>'
                for instant, target in frames
            )
            temporary.write_text(
                '<?xml version="1.0"?>\n<VTKFile type="Collection" version="0.1" byte_order="LittleEndian">\n'
                f"  <Collection>\n{entries}\n  </Collection>\n</VTKFile>\n"
            )
    except BaseException:
        for temporary, _ in written:
            temporary.unlink(missing_ok=True)
        raise
    for temporary, target in written:
        os.replace(temporary, target)
    return path
