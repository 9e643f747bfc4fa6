"""The --apply lock: a second apply on the same hosts is refused naming the
holder; a holder that dies releases it. No lab needed (the refusal comes
before any notebook runs); the lab test is in test_faults.py."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from runbook_lib.params import load_params
from runbook_lib.run.runlock import RunLocked, acquire

ROOT = Path(__file__).resolve().parent.parent
LAB = ROOT / "params" / "lab.yaml"
HOLD = """
import sys, time
from runbook_lib.params import load_params
from runbook_lib.run.runlock import acquire
lock = acquire(load_params(sys.argv[1]), sys.argv[1], "runs/holder")
print("held", flush=True)
time.sleep(120)
"""


@pytest.fixture
def holder(tmp_path, monkeypatch):
    monkeypatch.setenv("RUNBOOK_LOCK_DIR", str(tmp_path / "locks"))
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(LAB)], stdout=subprocess.PIPE, text=True,
                            env={**os.environ, "RUNBOOK_LOCK_DIR": str(tmp_path / "locks")}, cwd=ROOT)
    assert proc.stdout.readline().strip() == "held"
    yield proc
    if proc.poll() is None:
        proc.send_signal(signal.SIGKILL)
        proc.wait()


def test_second_apply_is_refused_naming_the_holder(holder):
    with pytest.raises(RunLocked) as e:
        acquire(load_params(LAB), str(LAB), "runs/second")
    msg = str(e.value)
    assert "cluster `lab` is locked" in msg and f"pid {holder.pid}" in msg and "since 20" in msg
    assert "runs/holder" in msg and f"kill {holder.pid}" in msg and f"ps -p {holder.pid}" in msg


def test_cli_refuses_before_running_anything(holder, tmp_path):
    out = tmp_path / "run"
    r = subprocess.run([str(Path(sys.executable).parent / "runbook"), "run", str(LAB), "--apply", "--out", str(out)],
                       cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert r.returncode == 1 and "is locked" in r.stderr and f"pid {holder.pid}" in r.stderr, r.stderr
    assert "Traceback" not in r.stderr
    assert not out.exists()


def test_a_dead_holder_releases_the_lock(holder):
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    time.sleep(0.1)
    with acquire(load_params(LAB), str(LAB), "runs/after") as lock:
        assert lock.fds
    # and again: released on exit
    acquire(load_params(LAB), str(LAB), "runs/again").release()

