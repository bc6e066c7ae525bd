"""The neural-operator example (07 Burgers family) end to end through main(fast=True), twice."""

from pde_lab.solvers import operator


def test_07_burgers_operator(load_example, tmp_path, capsys):
    example = load_example("07_burgers_operator.py")
    errors = example.main(fast=True, out_dir=tmp_path)
    # fast: 128 members on 32 points, 40 epochs; rel L2 at t = 1 against the spectral reference.
    # Measured: test 3.2e-2; 4 new members 3.3e-2 on 32 points, 3.6e-2 on 128.
    assert errors["test"] < 0.06 and errors["new_coarse"] < 0.06 and errors["new_fine"] < 0.06
    assert abs(errors["new_fine"] - errors["new_coarse"]) < 0.3 * errors["new_coarse"]  # grid-independent
    assert {p.name for p in tmp_path.iterdir()} == {"burgers_family.npz", "burgers_fno.pt", "burgers_operator.png"}
    assert (tmp_path / "burgers_operator.png").stat().st_size > 10_000
    assert "trained 40 epochs on 128 burgers members" in capsys.readouterr().out

    operator._TRAINED.clear()  # as in a new session: the second run loads the saved network
    assert example.main(fast=True, out_dir=tmp_path) == errors
    assert "loaded the trained FNO" in capsys.readouterr().out
