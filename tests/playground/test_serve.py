"""``nabla.playground.serve``: the blocking entry point the ``nabla playground`` command calls."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import httpx
import pytest

import nabla

from .conftest import free_port, wait_for


@pytest.mark.slow
def test_serve_starts_answers_and_stops_cleanly(tmp_path):
    port = free_port()
    db = tmp_path / "serve.sqlite3"
    src = os.path.abspath(os.path.join(os.path.dirname(nabla.__file__), ".."))
    env = dict(os.environ, PYTHONPATH=src, XDG_DATA_HOME=str(tmp_path / "data"))
    proc = subprocess.Popen([sys.executable, "-c", f"from nabla.playground import serve; serve('127.0.0.1', {port}, "
                             f"{str(db)!r})"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        def up():
            try:
                return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200
            except httpx.HTTPError:
                assert proc.poll() is None, proc.communicate()
                return False

        wait_for(up, timeout=60, interval=0.2)
        page = httpx.get(f"http://127.0.0.1:{port}/")
        assert page.status_code == 200 and "nabla playground" in page.text
        assert db.exists()
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode in (0, -signal.SIGTERM), err  # uvicorn re-raises SIGTERM after a graceful stop
    assert f"http://127.0.0.1:{port}/" in out
    assert "Traceback" not in err and "leaked" not in err, err
