"""The evolution examples (Burgers shock, Kuramoto–Sivashinsky) end to end through main(fast=True)."""

from pathlib import Path
from xml.etree import ElementTree


def _time_series(pvd: Path) -> list[float]:
    """The instants of a PVD collection, after checking that each frame it names exists."""
    entries = ElementTree.parse(pvd).getroot().find("Collection")
    for entry in entries:
        assert (pvd.parent / entry.get("file")).is_file()
    return [float(entry.get("timestep")) for entry in entries]


def test_02_burgers_shock(load_example, tmp_path, capsys):
    errors = load_example("02_burgers_shock.py").main(fast=True, out_dir=tmp_path)
    # fast budget: t in [0, 0.3], up to the front forming; against the exact Cole–Hopf solution
    assert errors["teng"] < 4e-2  # measured 2.1e-2
    assert errors["pinn"] < 0.35  # measured 0.21 (300 iterations)
    assert errors["deepxde"] < 0.3  # measured 0.15
    assert errors["teng"] < errors["pinn"]  # the time stepper is the best of the three here
    times = _time_series(tmp_path / "burgers_teng.pvd")
    assert times[0] == 0.0 and abs(times[-1] - 0.3) < 1e-12 and len(times) == 6
    assert (tmp_path / "burgers_shock.png").stat().st_size > 10_000
    assert "rel_l2" in capsys.readouterr().out


def test_03_kuramoto_sivashinsky(load_example, tmp_path, capsys):
    errors = load_example("03_kuramoto_sivashinsky.py").main(fast=True, out_dir=tmp_path)
    # fast budget: t in [0, 0.05] against a 128-mode ETDRK4 reference
    assert errors["pinn"] < 0.25  # measured 0.14 (300 iterations)
    assert errors["causal"] < 0.5  # measured 0.30 (200 Adam steps)
    times = _time_series(tmp_path / "ks_causal.pvd")
    assert times[0] == 0.0 and abs(times[-1] - 0.05) < 1e-12 and len(times) == 6
    for figure in ("ks.png", "ks_causal_weights.png"):
        assert (tmp_path / figure).stat().st_size > 10_000
    assert "rel_l2" in capsys.readouterr().out
