"""The benchmark harness keeps its JSON contract (timings themselves live in BENCHMARKS.md)."""

import json
import subprocess
import sys

import pytest

from pde_lab.bench import run_benchmark, to_markdown


def test_list_names_benchmarks():
    out = subprocess.run([sys.executable, "-m", "pde_lab.cli", "bench", "--list"], capture_output=True, text=True)
    assert out.returncode == 0 and {"poisson", "burgers", "derivatives"} <= set(out.stdout.split())


def test_poisson_benchmark_record_and_markdown():
    record = run_benchmark("poisson", fast=True)
    assert {"benchmark", "device", "date", "rows", "ratios", "versions"} <= set(record)
    names = [row["name"] for row in record["rows"]]
    assert names == ["pde_lab-pinn", "deepxde", "fem-p2"]
    for row in record["rows"]:
        assert {"name", "rel_l2", "wall_s", "peak_mem_mb"} <= set(row) and row["rel_l2"] > 0
    ratio = record["ratios"]["deepxde_wall_over_pinn_wall"]
    assert ratio == pytest.approx(record["rows"][1]["wall_s"] / record["rows"][0]["wall_s"])
    json.dumps(record)
    table = to_markdown(record)
    assert "| pde_lab-pinn |" in table and "deepxde_wall_over_pinn_wall" in table


def test_unknown_benchmark():
    from pde_lab.bench import BENCHMARKS

    with pytest.raises(ValueError, match="known benchmarks: burgers, burgers-seeds, causal, causal-lbfgs, dcdm, derivatives") as error:
        run_benchmark("navier")
    assert all(name in str(error.value) for name in BENCHMARKS)


def test_burgers_seeds_record_summarises_every_solver_over_its_seeds():
    record = run_benchmark("burgers-seeds", fast=True)
    runs = [row for row in record["rows"] if "seed" in row]
    summaries = {row["name"].split(" ")[0]: row for row in record["rows"] if "seed" not in row}
    assert set(summaries) == {"pde_lab-pinn", "pde_lab-pinn-closure", "pde_lab-pinn-lbfgs64", "deepxde"}
    for name, summary in summaries.items():
        errors = sorted(row["rel_l2"] for row in runs if row["name"] == name)
        assert len(errors) == summary["runs"] == 2 and summary["median_rel_l2"] == pytest.approx(sum(errors) / 2)
        assert errors[0] <= summary["geomean_rel_l2"] <= errors[1]
    assert record["ratios"]["deepxde_median_over_pinn_median"] == pytest.approx(
        summaries["deepxde"]["median_rel_l2"] / summaries["pde_lab-pinn"]["median_rel_l2"])


def test_helmholtz_balance_record_compares_plain_and_balanced_pinns():
    record = run_benchmark("helmholtz-balance", fast=True)
    runs = {row["name"]: row for row in record["rows"] if "seed" in row}
    assert set(runs) == {"pinn", "pinn-grad-norm"} and all(row["iterations"] == 30 for row in runs.values())
    assert runs["pinn"]["boundary_weight"] == 1.0 and runs["pinn-grad-norm"]["boundary_weight"] > 1.0
    summaries = {row["name"].split(" ")[0]: row for row in record["rows"] if "seed" not in row}
    assert record["ratios"]["plain_median_over_balanced_median"] == pytest.approx(
        summaries["pinn"]["median_rel_l2"] / summaries["pinn-grad-norm"]["median_rel_l2"])


def test_causal_lbfgs_record_pairs_the_causal_pinn_with_and_without_its_refinement():
    record = run_benchmark("causal-lbfgs", fast=True)
    runs = {row["name"]: row for row in record["rows"] if "seed" in row}
    assert set(runs) == {f"{solver} {key}" for solver in ("causal", "causal-lbfgs")
                         for key in ("allen-cahn", "kuramoto-sivashinsky")}
    for key in ("allen-cahn", "kuramoto-sivashinsky"):
        assert runs[f"causal {key}"]["lbfgs_steps"] == 0 < runs[f"causal-lbfgs {key}"]["lbfgs_steps"]
        assert record["ratios"][f"{key}_causal_median_over_causal_lbfgs_median"] == pytest.approx(
            runs[f"causal {key}"]["rel_l2"] / runs[f"causal-lbfgs {key}"]["rel_l2"])
