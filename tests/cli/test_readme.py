"""Issue 12, item 4: the README's commands work as written, from a fresh clone's layout.

The shell block under "## The `nabla` command" is run line by line, in a new folder laid out like a
clone (``../shared`` next to it when this checkout has one), with the virtual environment's ``bin`` first
on ``PATH`` as ``source .venv/bin/activate`` leaves it. Training lines run with fewer epochs (the
commands are the README's; only the numbers shrink), so the test takes seconds, not minutes.
"""

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared"


def readme_commands(section: str = "## The `nabla` command") -> list[str]:
    """The command lines of the first ``sh`` block after ``section`` (continuations joined, comments cut)."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    after = text[text.index(section):]
    block = re.search(r"```sh\n(.*?)```", after, re.S).group(1)
    lines, current = [], ""
    for raw in block.splitlines():
        current += raw.rstrip()
        if current.endswith("\\"):
            current = current[:-1] + " "
            continue
        words = shlex.split(current, comments=True)
        if words:
            lines.append(shlex.join(words))
        current = ""
    return lines


def shrink_epochs(words: list[str], first: int = 2, resumed: int = 3) -> list[str]:
    """A ``nabla train`` line with few epochs: ``first`` for a new run, ``resumed`` when carrying one on."""
    n = resumed if "--resume" in words else first
    if "--epochs" in words:
        words[words.index("--epochs") + 1] = str(n)
    else:
        words += ["--epochs", str(n)]
    return words


def test_readme_commands_work_as_written(tmp_path):
    commands = readme_commands()
    assert commands[0] == "source .venv/bin/activate", commands[0]  # the README says how nabla gets on PATH
    assert sum(c.startswith("nabla ") for c in commands) >= 8
    clone = tmp_path / "nabla"
    clone.mkdir()
    if SHARED.exists():
        (tmp_path / "shared").symlink_to(SHARED)
    venv_bin = Path(sys.executable).parent  # what `source .venv/bin/activate` puts first on PATH
    env = dict(os.environ, PATH=f"{venv_bin}{os.pathsep}{os.environ.get('PATH', '')}", OPENBLAS_NUM_THREADS="1",
               PYTHONPATH=str(ROOT / "src"))
    ran = []
    for line in commands[1:]:
        words = shlex.split(line)
        if "--data-dir" in words and not (clone / words[words.index("--data-dir") + 1]).exists():
            continue  # the MNIST line needs ../shared (this checkout has none)
        if words[:2] == ["nabla", "train"]:
            words = shrink_epochs(words)
        if words[0] == "python":
            pytest.importorskip("sklearn")
        r = subprocess.run(words, cwd=clone, env=env, capture_output=True, text=True, timeout=600)
        assert r.returncode == 0, f"README line failed: {line}\n{r.stderr[-2000:]}"
        ran.append((line, r))
    outputs = {line.split("#")[0].strip(): r for line, r in ran}
    predicted = next(r for line, r in outputs.items() if line.startswith("nabla predict"))
    assert [row.split(":")[0] for row in predicted.stdout.splitlines()] == ["0", "1", "2", "3", "4"]
    resumed = next(r for line, r in outputs.items() if line.startswith("nabla train --resume"))
    assert "(resumed from epoch 2; --epochs 2 -> 3)" in resumed.stderr
    assert "hidden" in next(r for line, r in outputs.items() if line == "nabla models mlp").stdout
