"""`nabla lab list | run | report` in a subprocess: the real command, its exit codes and what it writes."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from nabla.labs import list_labs

REPO = Path(__file__).resolve().parents[2]
MINE = ("perceptron_vs_mlp", "vanishing_gradients", "dying_relu", "zero_centred", "initialization", "batch_norm",
        "optimizer_trajectories", "optimizers_real_task")


def nabla(*args, cwd=None):
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", PYTHONWARNINGS="ignore")
    return subprocess.run([sys.executable, "-m", "nabla", "lab", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd or REPO, env=env, timeout=300)


def test_list_shows_every_lab_with_title():
    p = nabla("list")
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    assert [ln.split()[0] for ln in lines] == list_labs()
    assert set(MINE) <= set(list_labs())
    assert any("Vanishing gradients" in ln for ln in lines)


def test_unknown_lab_is_a_usage_error_listing_valid_names():
    p = nabla("run", "no_such_lab", "--quick")
    assert p.returncode == 2
    assert "unknown lab 'no_such_lab'" in p.stderr and "perceptron_vs_mlp" in p.stderr and "'all'" in p.stderr


@pytest.mark.parametrize("seeds", ["0", "-2", "two", "1.5"])
def test_bad_seeds_exit_2(seeds):
    p = nabla("run", "perceptron_vs_mlp", "--quick", "--seeds", seeds)
    assert p.returncode == 2 and "--seeds" in p.stderr, p.stderr


def test_unwritable_out_exits_2(tmp_path):
    a_file = tmp_path / "results.txt"
    a_file.write_text("not a folder")
    for out in (a_file, a_file / "sub", "/proc/nabla-labs"):
        p = nabla("run", "perceptron_vs_mlp", "--quick", "--out", out)
        assert p.returncode == 2, (out, p.stderr)
        assert "--out" in p.stderr and str(out) in p.stderr


def test_run_quick_then_report(tmp_path):
    results, site = tmp_path / "results", tmp_path / "site"
    p = nabla("run", "perceptron_vs_mlp", "--quick", "--seeds", "3", "--out", results)
    assert p.returncode == 0, p.stderr
    assert "perceptron_vs_mlp: SUPPORTED" in p.stdout
    r = json.loads((results / "perceptron_vs_mlp" / "result.json").read_text())
    assert r["seeds"] == [0, 1, 2] and r["quick"] is True and r["verdict"] == "supported"
    assert {m["config"] for m in r["measurements"]} == {"perceptron", "mlp_tanh", "linear_stack"}
    assert all(len(m["values"]) == 3 and "mean" in m and "std" in m for m in r["measurements"])
    assert (results / "perceptron_vs_mlp" / "boundaries.png").exists()

    p = nabla("report", "--results", results, "--out", site)
    assert p.returncode == 0, p.stderr
    index = (site / "index.html").read_text()
    assert 'href="perceptron_vs_mlp/index.html"' in index and 'src="perceptron_vs_mlp/boundaries.png"' in index
    page = (site / "perceptron_vs_mlp" / "index.html").read_text()
    for text in ("SUPPORTED", "Claim", "Set-up", "Reading", "What the notes get wrong", "mean ± std", "mlp_tanh"):
        assert text in page, text
    assert (site / "perceptron_vs_mlp" / "boundaries.png").exists()
    md = (results / "README.md").read_text()
    assert "[Perceptron vs MLP" in md and "(perceptron_vs_mlp/README.md)" in md


def test_report_without_results_exits_2(tmp_path):
    p = nabla("report", "--results", tmp_path / "empty", "--out", tmp_path / "site")
    assert p.returncode == 2 and "no lab results" in p.stderr
