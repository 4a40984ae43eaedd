"""The README's data-parallel commands (the first sh block after "**Data-parallel training on MPI**") work as
written, with fewer epochs: a 2-process run, then the same run carried on by one process."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("mpi4py", reason="nabla.distributed needs mpi4py: pip install 'nabla[mpi]'")
pytest.importorskip("sklearn", reason="the digits data set comes with scikit-learn")

ROOT = Path(__file__).resolve().parents[2]


def commands() -> list[list[str]]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    after = text[text.index("**Data-parallel training on MPI**"):]
    block = re.search(r"```sh\n(.*?)```", after, re.S).group(1)
    return [w for w in (shlex.split(line, comments=True) for line in block.splitlines()) if w]


def test_readme_mpi_commands_work_as_written(tmp_path):
    import nabla.distributed as dist

    try:
        mpiexec = dist.mpiexec()
    except FileNotFoundError as e:
        pytest.skip(str(e))
    cmds = commands()
    assert [c[0] for c in cmds] == ["mpiexec", "nabla"] and "--resume" in cmds[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PMI_", "OMPI_", "PMIX_", "MPI_LOCAL"))}
    env.update(PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
               OPENBLAS_NUM_THREADS="1", PYTHONPATH=str(ROOT / "src"))
    for words, epochs in zip(cmds, ("2", "3")):
        words = [mpiexec if w == "mpiexec" else w for w in words]
        if "--epochs" in words:
            words[words.index("--epochs") + 1] = epochs
        else:
            words += ["--epochs", epochs]
        r = subprocess.run(words, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, f"{shlex.join(words)}\n{r.stderr[-2000:]}"
    report = json.loads((tmp_path / "runs" / "ddp" / "metrics.json").read_text())
    assert report["epochs_run"] == 3 and report["config"]["processes"] == 1
