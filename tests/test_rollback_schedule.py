"""`runbook rollback` stops the schedule a run started (06's rsync loop on a host without cron) and
removes what it wrote (its log, its pid file, the folder): issue 18 item 9. A loop is stopped only
while its recorded pid is still that loop. No lab: a real loop started here under tmp_path."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

from runbook_lib.run import changelog
from runbook_lib.run.rollback import rollback

from .test_rollback_made import LocalHost

LOOP = """cd "$(dirname "$0")" || exit 1
echo $$ > schedule.pid
while :; do echo tick >> rsync.log; sleep 30; done
"""


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes() != b""  # a zombie has none
    except FileNotFoundError:
        return False


def _children(pid: int) -> list[int]:
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True).stdout
    return [int(x) for x in out.split()]


def test_rollback_stops_the_loop_it_started_and_removes_its_files(tmp_path, monkeypatch):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    monkeypatch.setenv("RUNBOOK_CHANGES", str(run_dir / "changes.jsonl"))
    h, folder = LocalHost(), tmp_path / "rsync-for-carbon-depsync"
    changelog.record_made(h, str(folder), kind="dir")
    folder.mkdir()
    (folder / "schedule.sh").write_text(LOOP)
    changelog.record_remote(h, str(folder / "schedule.sh"), existed=False, backup=None)
    for name in ("rsync.log", "schedule.pid"):  # as 06 records them, before the loop starts
        changelog.record_made(h, str(folder / name), kind="output")
    pid = h.check("setsid nohup sh %s >/dev/null 2>&1 </dev/null & echo $!", str(folder / "schedule.sh")).stdout.strip()
    changelog.record_made(h, f"process {pid}", kind="loop", detail=str(folder / "schedule.sh"))
    sleeps: list[int] = []
    try:
        for _ in range(50):
            sleeps = _children(int(pid))
            if (folder / "schedule.pid").exists() and sleeps:
                break
            time.sleep(0.1)
        assert (folder / "schedule.pid").read_text().strip() == pid and sleeps

        dry = rollback(run_dir, {"node1": h}, dry_run=True)  # type: ignore[dict-item]
        assert [(f.action, Path(f.path).name) for f in dry.files][0] == ("stop", f"process {pid}")
        assert _alive(int(pid))  # a dry run stops nothing
        report = rollback(run_dir, {"node1": h})  # type: ignore[dict-item]
        assert report.ok and all(f.done for f in report.files), report.text()
        assert "stopped 1 schedule(s)" in report.text()
        assert not _alive(int(pid)) and not any(_alive(s) for s in sleeps)  # the loop and its sleep
        assert not folder.exists()  # its log and pid file too, then the folder
    finally:
        for p in [int(pid), *sleeps]:
            if _alive(p):
                os.kill(p, signal.SIGKILL)


def test_a_pid_that_is_no_longer_the_loop_is_left_alone(tmp_path, monkeypatch):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    monkeypatch.setenv("RUNBOOK_CHANGES", str(run_dir / "changes.jsonl"))
    h = LocalHost()
    other = subprocess.Popen(["sleep", "30"])  # stands for a process that took the loop's pid since
    try:
        changelog.record_made(h, f"process {other.pid}", kind="loop", detail=str(tmp_path / "schedule.sh"))
        report = rollback(run_dir, {"node1": h})  # type: ignore[dict-item]
        assert [f.action for f in report.files] == ["unchanged"] and "no longer runs" in report.text()
        assert other.poll() is None
    finally:
        other.kill()
        other.wait()
