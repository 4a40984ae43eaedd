"""Issue 12, items 5 and 9: the progress bar as a person sees it. ``nabla train`` runs in a pseudo-terminal
of 80 columns; a terminal emulator (pyte) renders what it wrote; every epoch summary must be whole
(validation metrics included) and show the time left."""

import fcntl
import os
import struct
import subprocess
import sys
import termios
from pathlib import Path

import pytest

pyte = pytest.importorskip("pyte")

ROOT = Path(__file__).resolve().parents[2]


def run_in_terminal(argv, columns=80, rows=60, timeout=300):
    """Run ``argv`` with a pty of ``columns`` x ``rows`` as its terminal; return (exit code, screen lines,
    raw bytes)."""
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"), OPENBLAS_NUM_THREADS="1", TERM="xterm",
               COLUMNS=str(columns), LINES=str(rows))
    p = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, env=env, close_fds=True)
    os.close(slave)
    data = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # the child closed its end
            break
        if not chunk:
            break
        data += chunk
    os.close(master)
    p.wait(timeout=timeout)
    screen = pyte.Screen(columns, rows)
    pyte.ByteStream(screen).feed(data)
    return p.returncode, [line.rstrip() for line in screen.display if line.strip()], data


def test_epoch_summaries_are_whole_at_80_columns(tmp_path):
    rc, lines, raw = run_in_terminal([sys.executable, "-m", "nabla", "train", "mlp", "--dataset", "digits",
                                      "--epochs", "3", "--out", str(tmp_path / "run")])
    assert rc == 0, "\n".join(lines)
    text = "\n".join(lines)
    for e in (1, 2, 3):
        i = next(i for i, line in enumerate(lines) if line.startswith(f"Epoch {e}/3"))
        summary = lines[i] + " " + lines[i + 1]
        for key in ("loss: ", "accuracy: ", "val_loss: ", "val_accuracy: "):
            value = summary.split(key, 1)[1].split()[0]
            assert len(value) == 6 and float(value) >= 0, (key, summary)  # the whole 4-decimal number
        if e < 3:
            assert " - ETA " in lines[i], lines[i]
    assert "test accuracy" in text
    # the bar drew itself (a tty gets the live bar), then gave way to the summaries
    assert b"\r" in raw and b"|" in raw


def test_the_bar_itself_fits_and_shows_the_time_left():
    """The live bar at 80 columns: one line, the running loss and tqdm's time left in the epoch."""
    import io

    from nabla.train.callbacks import ProgressBar

    class Term(io.StringIO):
        def isatty(self):
            return True

        def fileno(self):
            raise OSError  # no real terminal: the width comes from COLUMNS

    class T:
        epochs, steps_per_epoch = 3, 50

    out = Term()
    os.environ["COLUMNS"] = "80"
    bar = ProgressBar(file=out)
    bar.trainer = T()
    bar.on_train_begin()
    bar.on_epoch_begin(0)
    for i in range(20):
        bar.on_batch_end(i, {"loss": 0.5})
    bar._bar.refresh()
    line = out.getvalue().split("\r")[-1]
    assert len(line) <= 80 and "loss 0.5000" in line and "20/50" in line and "<" in line, line


def _first_epoch_output(epochs: int, steps_per_epoch: int, seconds_per_batch: float) -> str:
    """What a ProgressBar (off a terminal, on a fake clock) prints over the first 100 batches of a run."""
    import io

    from nabla.train.callbacks import ProgressBar

    now = [0.0]

    class T:
        pass

    T.epochs, T.steps_per_epoch = epochs, steps_per_epoch
    out = io.StringIO()
    bar = ProgressBar(file=out, clock=lambda: now[0])
    bar.trainer = T()
    bar.on_train_begin()
    bar.on_epoch_begin(0)
    for i in range(100):
        now[0] += seconds_per_batch
        bar.on_batch_end(i, {"loss": 1.0})
    return out.getvalue()


def test_a_long_run_is_estimated_early():
    """After 5 s of the first epoch, a run that will take over a minute says how long (per epoch, in all)."""
    text = _first_epoch_output(epochs=5, steps_per_epoch=1000, seconds_per_batch=0.06)  # 60 s an epoch, 5 epochs
    assert text.count("estimate:") == 1
    assert "about 1m00s per epoch, 4m55s more for 5 epochs" in text, text


def test_a_short_run_is_not_estimated():
    assert "estimate" not in _first_epoch_output(epochs=2, steps_per_epoch=100, seconds_per_batch=0.06)  # 12 s
