"""One `--apply` at a time on a cluster.

Two applies on the same hosts would interleave their edits and backups. The
lock is one file per host address (so two params files that share a host
also exclude each other) in a directory on this machine, held with flock(2)
for the whole run. The kernel releases a flock when its process ends, however
it ends, so a crashed run never leaves a lock that blocks the next one; the
file keeps who held it last (user, machine, pid, start, run folder), which the
refusal shows.

Limit: the lock is per machine (``RUNBOOK_LOCK_DIR``, default
``/tmp/wso2-runbook-locks``); operators on two machines are not excluded.
"""

from __future__ import annotations

import fcntl
import getpass
import json
import os
import socket
import sys
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from ..core.errors import RunbookError
from ..params import Params

DEFAULT_DIR = "/tmp/wso2-runbook-locks"


class RunLocked(RunbookError):
    """Another run holds the cluster's lock."""


def lock_dir() -> Path:
    return Path(os.environ.get("RUNBOOK_LOCK_DIR", DEFAULT_DIR))


@dataclass
class RunLock:
    paths: list[Path]
    fds: list[int] = field(default_factory=list)

    def release(self) -> None:
        for fd in self.fds:
            try:
                fcntl.flock(fd, fcntl.LOCK_UN)
            finally:
                os.close(fd)
        self.fds = []

    def __enter__(self) -> "RunLock":
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def _holder(fd: int) -> dict:
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        return json.loads(os.read(fd, 4096).decode() or "{}")
    except (OSError, ValueError):
        return {}


def _refusal(p: Params, address: str, path: Path, who: dict) -> RunLocked:
    pid = who.get("pid", "?")
    return RunLocked(
        f"cluster `{p.name}` is locked: another `runbook run --apply` holds host {address}.\n"
        f"  held by {who.get('user', '?')}@{who.get('machine', '?')}, pid {pid}, since {who.get('since', '?')}"
        f" (params {who.get('params', '?')}, run folder {who.get('run_dir', '?')}).\n"
        f"Fix: wait for that run to finish. If it is hung, stop it: `kill {pid}` on {who.get('machine', '?')}. "
        f"A lock is held only while its process lives (flock on {path}), so a crashed run's lock clears itself: "
        f"check with `ps -p {pid}`; if no such process exists and this still appears, the lock file's directory "
        f"is shared with another machine: run there, or delete {path} once no run is active.")


def acquire(p: Params, params_file: str, run_dir: str) -> RunLock:
    """Take every host's lock, or raise RunLocked naming the holder."""
    d = lock_dir()
    d.mkdir(parents=True, exist_ok=True)
    addresses = sorted({str(h.address) for h in p.hosts.values()})
    lock = RunLock([d / f"host-{a}.lock" for a in addresses])
    me = {"user": getpass.getuser(), "machine": socket.gethostname(), "pid": os.getpid(),
          "since": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"), "params": str(params_file),
          "run_dir": str(run_dir), "command": " ".join(sys.argv[:4])}
    try:
        for address, path in zip(addresses, lock.paths):
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                who = _holder(fd)
                os.close(fd)
                raise _refusal(p, address, path, who) from None
            lock.fds.append(fd)
            os.ftruncate(fd, 0)
            os.pwrite(fd, json.dumps(me).encode(), 0)
    except BaseException:
        lock.release()
        raise
    return lock
