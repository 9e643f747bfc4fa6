"""Rollback of what a run started rather than wrote: a schedule (06's rsync synchronisation).

A run that starts a schedule records it (changelog kinds): ``loop`` (a detached loop on
a host without cron: its pid and script), ``cron`` (the crontab line it added) and
``output`` (files the schedule writes itself: its log, its pid file). A loop is
recorded as path ``process <pid>``, detail its script; a crontab line as path ``crontab``. They belong to
what the run made, so rollback stops the schedule first and then removes them, with
no digest check (they change on every tick). A loop is stopped only while its pid
is still that loop (its command line names the script): a pid reused since is left alone.
"""

from __future__ import annotations

import time

from ..remote.host import Host
from .changelog import FileChange


def _loop_args(h: Host, pid: str) -> list[str]:
    res = h.run("tr '\\0' '\\n' < /proc/%s/cmdline", pid)
    return [a for a in res.stdout.splitlines() if a] if res.ok else []


def stop_loop(h: Host, c: FileChange, dry_run: bool) -> tuple[str, str, bool]:
    """(action, reason, done) for a loop the run started: its process group is ended by pid."""
    pid, script = c.path.removeprefix("process "), c.detail
    if not pid.isdigit() or script not in _loop_args(h, pid):
        return "unchanged", f"the loop it started (pid {pid}) no longer runs", False
    if dry_run:
        return "stop", f"the schedule loop the run started (pid {pid})", False
    # 06 starts the loop with setsid: it leads its own group (its sleep, the script, rsync, ssh).
    leader = h.run("ps -o pgid= -p %s", pid).stdout.strip() == pid
    h.run("kill -TERM -%s" if leader else "kill -TERM %s", pid)
    for _ in range(50):
        if script not in _loop_args(h, pid):
            break
        time.sleep(0.1)
    else:
        h.run("kill -KILL -%s" if leader else "kill -KILL %s", pid)
    done = script not in _loop_args(h, pid)
    return "stop", f"the schedule loop the run started (pid {pid}{', its process group' if leader else ''})", done


def remove_cron_line(h: Host, c: FileChange, dry_run: bool) -> tuple[str, str, bool]:
    """(action, reason, done) for the crontab line the run added: that line only is taken out."""
    current = h.run("crontab -l 2>/dev/null").stdout.splitlines()
    if c.detail not in current:
        return "unchanged", "the crontab line is not there", False
    if dry_run:
        return "stop", f"the crontab line `{c.detail}`", False
    rest = "".join(ln + "\n" for ln in current if ln != c.detail)
    h.run("crontab -", stdin=rest.encode())
    return "stop", f"the crontab line `{c.detail}`", c.detail not in h.run("crontab -l 2>/dev/null").stdout.splitlines()


def plan_output(h: Host, c: FileChange) -> tuple[str, str]:
    """(action, reason) for a file the schedule the run started writes (its log, its pid file)."""
    if not h.run("test -e %s", c.path, sudo=c.sudo).ok:
        return "unchanged", "already as before the run (no such file)"
    return "remove", "written by the schedule the run started"
