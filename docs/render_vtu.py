"""Render a pde_lab VTU (or one frame of a PVD series) to a PNG, headless, as ParaView shows it.

Optional helper for docs/guide.md; pde_lab itself never imports VTK. Run it from a separate
virtual environment so that VTK stays out of the main one:

    python -m venv /tmp/vtkenv && /tmp/vtkenv/bin/pip install vtk pyvista meshio
    /tmp/vtkenv/bin/python docs/render_vtu.py out/reaction_diffusion_disk.vtu docs/figures/vtu_disk.png

It draws one panel per point-data array (``u``, ``u_error``, ...), coloured by its values, with
a colour bar and, on 2D meshes, isolines (``--warp F`` lifts the surface by F times the values
instead). Without a display it renders through EGL (Mesa or a GPU driver); set
``VTK_DEFAULT_OPENGL_WINDOW`` to choose another window class, e.g. ``vtkOSOpenGLRenderWindow``
where OSMesa is installed.
"""

from __future__ import annotations

import argparse
import os
import sys

os.environ.setdefault("VTK_DEFAULT_OPENGL_WINDOW", "vtkEGLRenderWindow")  # no X server needed


def read(path: str, frame: int):
    """The mesh of a ``.vtu``, or frame ``frame`` of a ``.pvd`` series, and its time (or None)."""
    import pyvista as pv

    if path.lower().endswith(".pvd"):
        reader = pv.get_reader(path)
        times = reader.time_values
        reader.set_active_time_value(times[frame])
        return reader.read()[0], times[frame]
    return pv.read(path), None


def render(
    path: str,
    png: str,
    *,
    fields: list[str] | None = None,
    frame: int = 0,
    warp: float | None = None,
) -> str:
    import numpy as np
    import pyvista as pv

    pv.OFF_SCREEN = True
    mesh, time = read(path, frame)
    names = fields or list(mesh.point_data.keys())
    missing = set(names) - set(mesh.point_data.keys())
    if not names or missing:
        raise SystemExit(
            f"{path}: no point data {sorted(missing) or ''}; arrays: {list(mesh.point_data.keys())}"
        )
    flat = np.ptp(mesh.points[:, 2]) == 0 and mesh.GetMaxCellSize() >= 3  # a 2D surface mesh
    plotter = pv.Plotter(
        shape=(1, len(names)), off_screen=True, window_size=(520 * len(names), 560)
    )
    for k, name in enumerate(names):
        plotter.subplot(0, k)
        error = name.endswith("_error")
        shown = mesh.warp_by_scalar(name, factor=warp) if flat and warp else mesh
        plotter.add_mesh(
            shown,
            scalars=name,
            cmap="coolwarm" if error else "viridis",
            show_edges=mesh.n_cells <= 2000,
            edge_color="grey",
            scalar_bar_args={
                "title": name,
                "fmt": "%.1e" if error else "%.2f",
                "position_x": 0.15,
                "position_y": 0.03,
                "width": 0.7,
                "height": 0.08,
                "title_font_size": 16,
                "label_font_size": 14,
                "n_labels": 5,
            },
        )
        if flat and not warp:  # isolines, as ParaView's Contour filter draws them
            plotter.add_mesh(mesh.contour(9, scalars=name), color="black", line_width=1)
        title = f"{os.path.basename(path)}: {name}" + ("" if time is None else f"  (t = {time:g})")
        plotter.add_text(title, font_size=11)
        if flat:
            plotter.view_xy()
            if warp:
                plotter.camera.elevation = -55  # look at the lifted surface from the front
    plotter.screenshot(png)
    plotter.close()
    return png


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", help=".vtu file, or .pvd series")
    parser.add_argument("png", help="image to write")
    parser.add_argument(
        "--field", action="append", help="point-data array to draw (repeatable; default all)"
    )
    parser.add_argument("--frame", type=int, default=0, help="frame of a .pvd series (default 0)")
    parser.add_argument(
        "--warp", type=float, help="lift a 2D mesh by this factor times the values (default: flat)"
    )
    args = parser.parse_args(argv)
    print(render(args.path, args.png, fields=args.field, frame=args.frame, warp=args.warp))
    return 0


if __name__ == "__main__":
    sys.exit(main())
