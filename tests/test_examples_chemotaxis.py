"""examples/06_chemotaxis.py end to end through main(fast=True): errors, figure, ParaView series."""


def test_06_chemotaxis(load_example, tmp_path, capsys):
    import meshio

    errors = load_example("06_chemotaxis.py").main(fast=True, out_dir=tmp_path)
    # Baselines on the same points: the fields' constant means score 0.42, the initial data
    # frozen in time 0.23. Full-run numbers are in the example's docstring.
    assert errors["pinn"] < 0.24  # measured 0.16 (Adam 100 + L-BFGS 200, 3x20 network)
    assert errors["causal"] < 0.35  # measured 0.22 (150 Adam steps, 3x32 network)
    names = {p.name for p in tmp_path.iterdir()}
    assert "chemotaxis.png" in names
    final_peak = {}
    for label in ("fem", "pinn", "causal"):
        assert f"chemotaxis_{label}.pvd" in names
        frames = sorted(n for n in names if n.startswith(f"chemotaxis_{label}_") and n.endswith(".vtu"))
        assert len(frames) == 11  # t = 0, 0.01, ..., 0.1
        last = meshio.read(tmp_path / frames[-1]).point_data
        assert set(last) >= {"n", "c"}  # every field in every frame
        final_peak[label] = float(last["n"].max())
    assert abs(final_peak["fem"] - 3.26) < 0.02  # the aggregate (max n = 8 at t = 0.01) has spread back
    assert 2.0 < final_peak["pinn"] < 4.5 and 2.0 < final_peak["causal"] < 4.5  # measured 2.65, 2.86
    out = capsys.readouterr().out
    assert "rel L2" in out and "max n" in out
