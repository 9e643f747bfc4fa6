"""lab/services.stop_pids holds each process by a pidfd: it ends the processes
it was given, and never one whose pid no longer belongs where it was listed
(a pid freed and given to another process while a lab comes down)."""

from __future__ import annotations

import subprocess
import time

from runbook_lib.lab import services


def _sleeper(*extra: str) -> subprocess.Popen:
    """A process that sleeps a minute (EXTRA: ignoring TERM, once it says so)."""
    if not extra:
        return subprocess.Popen(["sleep", "60"])
    proc = subprocess.Popen(["sh", "-c", "trap '' TERM; echo ready; exec sleep 60"], stdout=subprocess.PIPE)
    assert proc.stdout.readline() == b"ready\n"
    return proc


def test_ends_what_it_is_given_term_then_kill():
    polite, stubborn = _sleeper(), _sleeper("ignores TERM")
    started = time.monotonic()
    assert sorted(services.stop_pids([polite.pid, stubborn.pid], timeout=1.0)) == sorted([polite.pid, stubborn.pid])
    # both ended (and were reaped by stop_pids, being this process's children): the one that
    # ignores TERM only by the KILL sent after the timeout
    assert polite.poll() is not None and stubborn.wait(5) == -9
    assert 1.0 <= time.monotonic() - started < 5


def test_a_pid_not_in_the_namespace_it_was_listed_in_is_left_alone():
    other = _sleeper()
    try:
        assert services.stop_pids([other.pid], timeout=0.5, namespaces={other.pid: "rblab-no-such-namespace"}) == []
        time.sleep(0.3)
        assert other.poll() is None  # still running: not ours
    finally:
        other.kill()
        other.wait()


def test_a_pid_that_has_ended_is_skipped():
    gone = subprocess.Popen(["true"])
    gone.wait()
    assert services.stop_pids([gone.pid], timeout=0.5) == []
