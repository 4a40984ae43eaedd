"""`nabla tune` end to end on the 8x8 digits (a subprocess, as a user runs it)."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys

import pytest

pytest.importorskip("optuna", reason="nabla tune needs Optuna: pip install 'nabla[tune]'")
pytest.importorskip("sklearn", reason="the digits data set comes with scikit-learn")

PARAMS = ["--param", "lr=log:1e-4:1e-1", "--param", "hidden=choice:128,256,512", "--param", "dropout=0:0.5"]


def _nabla(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "-m", "nabla", *args], capture_output=True, text=True, timeout=timeout,
                          env=env)


def test_ten_trials_on_digits_beat_the_default_or_say_so(tmp_path):
    out = tmp_path / "tune"
    r = _nabla("tune", "mlp", "--dataset", "digits", "--trials", "10", "--epochs", "5", *PARAMS, "--out", str(out),
               "--storage", f"sqlite:///{tmp_path / 'study.db'}")
    assert r.returncode == 0, r.stderr
    report = json.loads((out / "best.json").read_text())
    assert report["trials"]["complete"] + report["trials"].get("pruned", 0) == 10
    if report["beats_default"]:
        assert "the best trial beats the default configuration" in r.stdout
        assert report["best_value"] > report["default_value"]
    else:
        assert "could not beat the default configuration" in r.stdout
    assert report["trials"]["epochs_run"] <= report["trials"]["epochs_budget"] == 50
    assert set(report["test"]) == {"tuned", "default"} and report["test"]["tuned"] > 0.9
    for name in ("trials.csv", "history.png", "importances.png", "contour.png"):
        assert (out / name).stat().st_size > 0, name
    assert len((out / "trials.csv").read_text().splitlines()) == 11
    # the printed command is a ready `nabla train` command line that reproduces the best trial's setting
    command = r.stdout.split("best configuration:\n", 1)[1].splitlines()[0].strip()
    assert command == report["command"] and command.startswith("nabla train mlp --dataset digits")
    argv = shlex.split(command)[1:] + ["--out", str(tmp_path / "best"), "--quiet"]
    t = _nabla(*argv)
    assert t.returncode == 0, t.stderr
    best = json.loads((tmp_path / "best" / "metrics.json").read_text())
    assert best["config"]["lr"] == pytest.approx(report["best_params"]["lr"], rel=1e-5)
    # the study lives in the storage: a second search adds to it
    r2 = _nabla("tune", "mlp", "--dataset", "digits", "--trials", "2", "--epochs", "2", *PARAMS, "--quiet",
                "--no-final", "--out", str(tmp_path / "again"), "--storage", f"sqlite:///{tmp_path / 'study.db'}")
    assert r2.returncode == 0, r2.stderr
    assert len((tmp_path / "again" / "trials.csv").read_text().splitlines()) == 13


@pytest.mark.parametrize("args, message", [
    (["--param", "lr=log:0:1"], "a log scale needs LOW > 0"),
    (["--param", "width=0:1"], "not a training setting"),
    (["--param", "lr=0:1", "--param", "lr=log:1e-3:1"], "given more than once"),
    (["--param", "lr=0:1", "--dataset", "nope"], "unknown data set 'nope'"),
])
def test_bad_usage_exits_2_with_what_is_valid(args, message):
    base = ["tune", "mlp", "--dataset", "digits"]
    r = _nabla(*(base + args if "--dataset" not in args else ["tune", "mlp"] + args))
    assert r.returncode == 2 and message in r.stderr, r.stderr
