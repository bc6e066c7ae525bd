"""The Navier–Stokes examples (04 cavity, 05 torus) run end to end through main(fast=True)."""


def test_04_lid_driven_cavity(load_example, tmp_path, capsys):
    errors = load_example("04_lid_driven_cavity.py").main(fast=True, out_dir=tmp_path)
    # Velocity rel. L2 against Taylor–Hood FEM; the zero field scores 1.0.
    assert errors["pinn-ngd"] < 0.7  # measured 0.44 with 40 Gauss–Newton steps
    assert errors["pinn"] < 0.9  # measured 0.63 with 300 Adam steps
    assert {p.name for p in tmp_path.iterdir()} == {
        "cavity.png",
        "cavity_fem.vtu",
        "cavity_pinn-ngd.vtu",
        "cavity_pinn.vtu",
    }
    assert "vel L2" in capsys.readouterr().out


def test_05_torus_turbulence(load_example, tmp_path, capsys):
    errors = load_example("05_torus_turbulence.py").main(fast=True, out_dir=tmp_path)
    # rel. L2 of (u, v) over the 81² × 20 space-time grid against the spectral reference.
    assert errors["causal"] < 0.55  # measured 0.33 (150 Adam steps, t in [0, 0.1])
    assert errors["pinn"] < 0.85  # measured 0.57 (100 Adam + 60 L-BFGS steps)
    names = {p.name for p in tmp_path.iterdir()}
    assert "torus.png" in names
    for solver in ("reference", "causal", "pinn"):
        assert f"torus_{solver}.pvd" in names
        assert {f"torus_{solver}_{k:04d}.vtu" for k in range(11)} <= names
    assert "rel L2" in capsys.readouterr().out
