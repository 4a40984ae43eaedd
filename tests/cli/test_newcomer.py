"""Issue 12: the command line as a newcomer meets it. Each test runs the real ``nabla`` command in a
subprocess (``python -m nabla``) and checks what a user sees: exit codes, one-line errors, files kept."""

import hashlib
import json
import os
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import nabla

ROOT = Path(__file__).resolve().parents[2]
ENV = dict(os.environ, PYTHONPATH=str(ROOT / "src"), OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")


def nabla_cmd(*args, cwd=None, timeout=300, env=ENV):
    return subprocess.run([sys.executable, "-m", "nabla", *map(str, args)], cwd=cwd, capture_output=True, text=True,
                          env=env, timeout=timeout)


def digest(folder: Path) -> dict:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def one_clear_line(r: subprocess.CompletedProcess) -> None:
    assert "Traceback" not in r.stderr, r.stderr
    assert r.stderr.strip().count("\n") == 0 and r.stderr.startswith("nabla "), r.stderr


@pytest.fixture(scope="module")
def circle_run(tmp_path_factory):
    """A finished 2-epoch run with settings that differ from the recipe's."""
    out = tmp_path_factory.mktemp("circle") / "run"
    r = nabla_cmd("train", "mlp", "--dataset", "circle", "--epochs", "2", "--batch-size", "16", "--seed", "3",
                  "--lr", "0.01", "-a", "hidden=8", "--out", out)
    assert r.returncode == 0, r.stderr
    return out


# ---------------------------------------------------------------------------- 1. never lose a run


def test_rerun_into_a_run_is_refused_and_force_replaces_it(circle_run, tmp_path):
    out = tmp_path / "run"
    assert nabla_cmd("train", "mlp", "--dataset", "circle", "--epochs", "3", "-q", "--out", out).returncode == 0
    before = digest(out)
    r = nabla_cmd("train", "mlp", "--dataset", "circle", "--epochs", "1", "-q", "--out", out)
    assert r.returncode == 2
    one_clear_line(r)
    assert "already holds a run" in r.stderr and "--resume" in r.stderr and "--force" in r.stderr
    assert "new --out" in r.stderr
    assert digest(out) == before  # nothing touched
    r = nabla_cmd("train", "mlp", "--dataset", "circle", "--epochs", "1", "-q", "--out", out, "--force")
    assert r.returncode == 0, r.stderr
    assert json.loads((out / "metrics.json").read_text())["epochs_run"] == 1


# ------------------------------------------------------------------------ 2. resume that means it


def test_resume_needs_only_out_and_matches_an_uninterrupted_run(circle_run, tmp_path):
    import shutil

    run = tmp_path / "resumed"
    shutil.copytree(circle_run, run)
    r = nabla_cmd("train", "--resume", "--out", run, "--epochs", "4")
    assert r.returncode == 0, r.stderr
    err = r.stderr
    assert "(resumed from epoch 2; --epochs 2 -> 4)" in err
    assert err.index("(resumed from epoch 2") < err.index("Epoch 3/4")  # before the epoch lines
    report = json.loads((run / "metrics.json").read_text())
    assert report["config"]["lr"] == 0.01 and report["config"]["batch_size"] == 16 and report["config"]["seed"] == 3
    assert report["model_args"] == {"hidden": [8]} and len(report["history"]["loss"]) == 4
    assert report["resumed"] == [{"at_epoch": 2, "changed": {"epochs": [2, 4]}}]
    whole = tmp_path / "whole"
    r = nabla_cmd("train", "mlp", "--dataset", "circle", "--epochs", "4", "--batch-size", "16", "--seed", "3",
                  "--lr", "0.01", "-a", "hidden=8", "-q", "--out", whole)
    assert r.returncode == 0, r.stderr
    a = nabla.load(whole / "checkpoint.safetensors")["model"]
    b = nabla.load(run / "checkpoint.safetensors")["model"]
    for k in a:
        assert a[k].numpy().tobytes() == b[k].numpy().tobytes(), k


def test_resume_with_a_new_lr_applies_and_records_it(circle_run, tmp_path):
    import shutil

    run = tmp_path / "run"
    shutil.copytree(circle_run, run)
    r = nabla_cmd("train", "--resume", "--out", run, "--epochs", "3", "--lr", "0.05", "-q")
    assert r.returncode == 0, r.stderr
    state = nabla.train.load_checkpoint(run / "checkpoint.safetensors")
    assert [g["lr"] for g in state["optimizer"]["param_groups"]] == [0.05]
    assert state["meta"]["run"]["lr"] == 0.05
    report = json.loads((run / "metrics.json").read_text())
    assert report["config"]["lr"] == 0.05
    assert report["resumed"][-1]["changed"]["lr"] == [0.01, 0.05]


@pytest.mark.parametrize("change, message", [
    (["--dataset", "moons"], "trained with --dataset circle, not moons"),
    (["-a", "hidden=9"], "trained with -a hidden=8, not hidden=9"),
    (["--batch-size", "32"], "trained with --batch-size 16, not 32"),
    (["mlp", "--optimizer", "sgd"], "trained with --optimizer adam, not sgd"),
    (["perceptron"], "trained with MODEL mlp, not perceptron"),
    (["--epochs", "1"], "already trained 2 epochs; --epochs 1 asks for fewer"),
])
def test_resume_refuses_settings_that_make_another_run_and_touches_nothing(circle_run, change, message):
    before = digest(circle_run)
    r = nabla_cmd("train", "--resume", "--out", circle_run, *change)
    assert r.returncode == 2, r.stderr
    one_clear_line(r)
    assert message in r.stderr
    assert digest(circle_run) == before


def test_resume_of_a_finished_run_says_so_and_touches_nothing(circle_run):
    before = digest(circle_run)
    r = nabla_cmd("train", "--resume", "--out", circle_run)
    assert r.returncode == 0 and "already trained 2 epochs of 2; nothing to do" in r.stderr
    assert digest(circle_run) == before


def test_resume_with_no_checkpoint_yet_starts_afresh(tmp_path):
    r = nabla_cmd("train", "mlp", "--dataset", "circle", "--epochs", "1", "--out", tmp_path / "new", "--resume")
    assert r.returncode == 0, r.stderr
    assert "no checkpoint in" in r.stderr and "starting the run afresh" in r.stderr
    assert (tmp_path / "new" / "checkpoint.safetensors").exists()
    r = nabla_cmd("train", "--resume", "--out", tmp_path / "nothing")
    assert r.returncode == 2 and "give MODEL and --dataset" in r.stderr
    (tmp_path / "new" / "checkpoint.safetensors").unlink()  # a finished run's metrics, its checkpoint gone
    r = nabla_cmd("train", "mlp", "--dataset", "circle", "--epochs", "1", "--out", tmp_path / "new", "--resume")
    assert r.returncode == 2 and "metrics.json but no checkpoint.safetensors" in r.stderr and "--force" in r.stderr


def test_ctrl_c_prints_a_resume_command_that_works(tmp_path):
    out = tmp_path / "run"
    p = subprocess.Popen([sys.executable, "-m", "nabla", "train", "mlp", "--dataset", "digits", "--epochs", "60",
                          "--out", str(out)], env=ENV, stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not (out / "checkpoint.safetensors").exists() and time.monotonic() < deadline and p.poll() is None:
        time.sleep(0.02)
    p.send_signal(signal.SIGINT)
    _, err = p.communicate(timeout=60)
    assert p.returncode == 130, err
    hint = err.strip().splitlines()[-1]
    assert hint.startswith("interrupted; carry on with: ")
    command = shlex.split(hint.split(": ", 1)[1])
    assert command[-4:] == ["train", "--resume", "--out", str(out)]
    if command[0] == "nabla":  # nabla on PATH: run the same program
        command = [sys.executable, "-m", "nabla", *command[1:]]
    r = subprocess.run(command, env=ENV, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert "(resumed from epoch" in r.stderr
    assert json.loads((out / "metrics.json").read_text())["epochs_run"] == 60


def test_resume_hint_before_the_first_checkpoint_is_the_whole_command(tmp_path):
    from nabla.cli.train import _resume_command

    given = {"model": "mlp", "dataset": "circle", "epochs": 1, "model_args": [("hidden", "4,")], "lr": None}
    command = shlex.split(_resume_command(tmp_path / "run", given).split(" train ", 1)[1])
    assert command[:6] == ["mlp", "--dataset", "circle", "--out", str(tmp_path / "run"), "--resume"]
    r = nabla_cmd("train", *command)
    assert r.returncode == 0, r.stderr
    assert json.loads((tmp_path / "run" / "metrics.json").read_text())["model_args"] == {"hidden": [4]}


# ------------------------------------------------------------------------------ 3. model arguments


def test_model_arguments_are_typed_by_the_models_signature(tmp_path):
    r = nabla_cmd("train", "mlp", "--dataset", "circle", "--epochs", "1", "-q", "-a", "hidden=64", "--out", tmp_path)
    assert r.returncode == 0, r.stderr
    weights = nabla.load(tmp_path / "checkpoint.safetensors")["model"]
    shapes = [tuple(v.shape) for k, v in weights.items() if k.endswith("weight")]
    assert shapes == [(64, 2), (2, 64)]  # one hidden layer of 64
    for arg, message in [("num_classes=3", "num_classes is set from the data set"),
                         ("batch_norm=maybe", "batch_norm=maybe: expected true or false"),
                         ("dropout=lots", "expected a number"), ("hidden=a,b", "comma-separated list"),
                         ("hiden=3", "has no argument 'hiden'; it takes: hidden, activation, batch_norm, dropout")]:
        r = nabla_cmd("train", "mlp", "--dataset", "circle", "-a", arg, "--out", tmp_path / "x")
        assert r.returncode == 2, (arg, r.stderr)
        one_clear_line(r)
        assert message in r.stderr, (arg, r.stderr)
    assert not (tmp_path / "x").exists()


def test_models_name_shows_arguments_types_and_defaults():
    r = nabla_cmd("models", "mlp")
    assert r.returncode == 0, r.stderr
    rows = {line.split()[0]: line.split(None, 2)[1:] for line in r.stdout.splitlines()[3:]}
    assert rows["hidden"] == ["sequence", "of int  128,64"] or "128,64" in " ".join(rows["hidden"])
    assert "bool" in rows["batch_norm"][0] and rows["batch_norm"][-1].endswith("false")
    assert "from the data set" in " ".join(rows["num_classes"])
    r = nabla_cmd("models", "nope")
    assert r.returncode == 2 and "valid names" in r.stderr


# ---------------------------------------------------------------------- 6-8. errors and exit codes


@pytest.fixture(scope="module")
def digits_ckpt(tmp_path_factory):
    out = tmp_path_factory.mktemp("digits") / "run"
    r = nabla_cmd("train", "mlp", "--dataset", "digits", "--epochs", "8", "-q", "--out", out)
    assert r.returncode == 0, r.stderr
    return out / "checkpoint.safetensors"


def test_bad_input_is_one_line_and_exit_2(digits_ckpt, tmp_path):
    (tmp_path / "fake.png").write_text("not an image")
    cases = [
        (["predict", digits_ckpt, tmp_path / "fake.png"], "is not a readable PNG image"),
        (["predict", digits_ckpt, tmp_path / "missing.npy"], "does not exist"),
        (["evaluate", tmp_path / "missing.safetensors"], "no checkpoint at"),
        (["predict", tmp_path / "missing.safetensors", tmp_path / "fake.png"], "no checkpoint at"),
        (["train", "mlp", "--dataset", "digits", "--split", "test", "--holdout", "5000", "--out", tmp_path / "h"],
         "leaves nothing to train on"),
        (["train", "mlp", "--dataset", "digits", "--holdout", "1438", "--out", tmp_path / "h"],
         "leaves nothing to train on"),
        (["train", "--resume", digits_ckpt, "--out", tmp_path / "h", "-a", "hidden=32"], "trained with -a"),
    ]
    for argv, message in cases:
        r = nabla_cmd(*argv)
        assert r.returncode == 2, (argv, r.stderr)
        one_clear_line(r)
        assert message in r.stderr, (argv, r.stderr)
    assert not (tmp_path / "h").exists()


def test_predict_takes_the_natural_shapes_and_skips_a_csv_header(digits_ckpt, tmp_path):
    _, test = nabla.data.datasets.digits()
    x, y = test.tensors[0].numpy()[:6], test.tensors[1].numpy()[:6]
    np.save(tmp_path / "batch.npy", x[:, 0])  # (N, 8, 8)
    np.save(tmp_path / "one.npy", x[0, 0])  # (8, 8)
    header = ",".join(f"p{i}" for i in range(64))
    np.savetxt(tmp_path / "rows.csv", x.reshape(6, -1), delimiter=",", header=header, comments="")
    expected = [str(t) for t in y]
    for name, n in [("batch.npy", 6), ("one.npy", 1), ("rows.csv", 6)]:
        r = nabla_cmd("predict", digits_ckpt, tmp_path / name, "--json")
        assert r.returncode == 0, (name, r.stderr)
        got = [row["class"] for row in json.loads(r.stdout)]
        assert len(got) == n and sum(g == e for g, e in zip(got, expected)) >= n - 1, (name, got, expected)
    (tmp_path / "bad.csv").write_text(header + "\n" + ",".join(["0"] * 64) + "\n" + "x," * 63 + "x\n")
    r = nabla_cmd("predict", digits_ckpt, tmp_path / "bad.csv")
    assert r.returncode == 2 and "row 3: expected numbers" in r.stderr
    r = nabla_cmd("predict", "-h")
    assert r.returncode == 0
    for text in (".npy", ".csv", "header row", "(N, 8, 8)", "nabla datasets"):
        assert text in r.stdout, text


# ------------------------------------------------------------------------------ 10. side effects


def test_no_side_effects_on_a_bad_data_dir_or_a_failed_run(tmp_path):
    missing = tmp_path / "nonexistent"
    r = nabla_cmd("train", "mlp", "--dataset", "mnist", "--data-dir", missing, "--out", tmp_path / "a" / "b")
    assert r.returncode == 2
    one_clear_line(r)
    assert "--data-dir" in r.stderr and "no such folder" in r.stderr
    assert not missing.exists() and not (tmp_path / "a").exists()


def test_a_run_interrupted_before_its_first_checkpoint_leaves_no_folder(tmp_path):
    from nabla.cli.train import _make_out, _remove_if_empty

    out = tmp_path / "runs" / "x"
    created = _make_out(out)
    assert created == [out, out.parent] and out.is_dir()
    _remove_if_empty(created)
    assert not (tmp_path / "runs").exists()
    out.mkdir(parents=True)
    (out / "checkpoint.safetensors").write_bytes(b"")
    _remove_if_empty([out, out.parent])  # a folder with a file stays
    assert out.exists()


def test_one_epoch_is_singular(tmp_path):
    r = nabla_cmd("train", "mlp", "--dataset", "circle", "--epochs", "1", "--out", tmp_path)
    assert r.returncode == 0
    assert "; 1 epoch," in r.stderr and "1 epochs" not in r.stderr


# ------------------------------------------------------------------------------------- 11. help


def test_every_argument_has_help_and_there_is_a_version():
    import argparse

    from nabla.cli import build_parser

    missing = []

    def check(parser, path):
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):  # each command: its help line, its arguments
                helps = {a.dest: a.help for a in action._choices_actions}
                for name, sub in action.choices.items():
                    if not helps.get(name):
                        missing.append(f"{path} {name}".strip())
                    check(sub, f"{path} {name}".strip())
            elif not action.help or action.help == argparse.SUPPRESS:
                missing.append(f"{path} {action.dest}")

    check(build_parser(), "")
    assert not missing, missing
    r = nabla_cmd("--version")
    assert r.returncode == 0 and r.stdout.startswith("nabla ")
    r = nabla_cmd("train", "-h")
    assert "On --resume" in r.stdout and "refused" in r.stdout


def test_an_unexpected_error_is_one_line_unless_the_traceback_is_asked_for(tmp_path, monkeypatch, capsys):
    """A bug (here: a command that raises KeyError) is one line and exit 1; NABLA_TRACEBACK=1 shows the
    traceback. A checkpoint that lacks what nabla writes is bad input (exit 2), not a bug."""
    import nabla.cli.models as models_command
    from nabla.cli import main

    def broken(args):
        raise KeyError("oops")

    monkeypatch.setattr(models_command, "run", broken)
    monkeypatch.delenv("NABLA_TRACEBACK", raising=False)
    assert main(["models"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "KeyError: 'oops'" in err and "NABLA_TRACEBACK=1" in err
    monkeypatch.setenv("NABLA_TRACEBACK", "1")
    with pytest.raises(KeyError):
        main(["models"])
    nabla.save({"format": "nabla.checkpoint", "version": 1, "meta": {"model": "mlp"}, "model": {}},
               tmp_path / "odd.safetensors")
    r = nabla_cmd("evaluate", tmp_path / "odd.safetensors")
    assert r.returncode == 2 and "does not record its dataset, input_shape, num_classes" in r.stderr
    one_clear_line(r)


SHAKESPEARE = ROOT.parent / "shared" / "datasets" / "tinyshakespeare"


@pytest.mark.skipif(not (SHAKESPEARE / "input.txt").exists(), reason="needs ../shared/datasets/tinyshakespeare")
def test_a_long_training_run_says_how_long_early_and_ctrl_c_before_a_checkpoint_leaves_nothing(tmp_path):
    """`nabla train char_lstm --dataset tinyshakespeare` (minutes an epoch): an estimate within seconds;
    Ctrl-C then prints the whole command to start it again and leaves no empty --out folder."""
    out = tmp_path / "runs" / "lstm"
    p = subprocess.Popen([sys.executable, "-m", "nabla", "train", "char_lstm", "--dataset", "tinyshakespeare",
                          "--data-dir", str(SHAKESPEARE), "--out", str(out)], env=ENV, stderr=subprocess.PIPE,
                         stdout=subprocess.PIPE, text=True)
    lines = []
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        line = p.stderr.readline()
        if not line:
            break
        lines.append(line)
        if line.startswith("estimate:"):
            break
    p.send_signal(signal.SIGINT)
    _, rest = p.communicate(timeout=120)
    assert any(line.startswith("estimate: about ") and " per epoch, " in line and "more for 5 epochs" in line
               for line in lines), lines
    assert p.returncode == 130
    hint = rest.strip().splitlines()[-1]
    assert "train char_lstm --dataset tinyshakespeare --out" in hint and "--resume" in hint and "--data-dir" in hint
    assert not (tmp_path / "runs").exists()
