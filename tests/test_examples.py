"""Examples run end to end through main(fast=True), with a stored expectation each."""


def test_01_poisson_lshape(load_example, tmp_path, capsys):
    errors = load_example("01_poisson_lshape.py").main(fast=True, out_dir=tmp_path)
    assert errors["fem-p1 (h=0.1)"] < 2e-2  # measured 1.3e-2
    assert errors["pinn"] < 0.25  # measured 0.16 at the fast budget; the full run is in BENCHMARKS.md
    assert errors["pinn-ngd"] < 0.1  # measured 5.5e-2 (2x16 network, 50 Gauss-Newton steps, ~3 s)
    assert errors["pinn-ngd"] < errors["pinn"]  # second-order steps beat Adam + L-BFGS at a tenth of the time
    assert {p.name for p in tmp_path.iterdir()} == {
        "poisson_lshape_pinn.vtu", "poisson_lshape_pinn_ngd.vtu", "poisson_lshape_fem.vtu",
        "poisson_lshape.png", "poisson_lshape_pinn_ngd.png"}
    assert "rel L2" in capsys.readouterr().out
