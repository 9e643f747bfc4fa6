"""What a run changed on the hosts, recorded in its run folder for rollback.

Every file write appends one line to ``changes.jsonl`` next to the run record
(``RUNBOOK_RECORD``): host, path, whether the file existed, its backup (the
file as it was before this run's first write, ``<file>.bak.<run id>``) and
the sha256 of what the run left there. ``runbook rollback`` reads it back.
No content and no secret is recorded: only paths and digests.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

CHANGES = "changes.jsonl"


def changes_file() -> Path | None:
    """Where this process records changes: beside the run record, if any."""
    explicit = os.environ.get("RUNBOOK_CHANGES")
    if explicit:
        return Path(explicit)
    record = os.environ.get("RUNBOOK_RECORD")
    return Path(record).parent / CHANGES if record else None


@dataclass(frozen=True)
class FileChange:
    host: str
    path: str
    existed: bool
    backup: str | None  # None: no backup taken (a file the run created, or written with backup=False)
    sha256_after: str
    sudo: bool
    run_id: str
    at: str = ""
    kind: str = "file"  # file | dir (removed by rollback when empty) | listed (never removed: e.g. a repository)
    # | output (written by what the run started, e.g. a log: removed) | loop (a process the run started: PATH is
    # `process <pid>`, DETAIL its script; stopped) | cron (PATH `crontab`, DETAIL the line the run added: removed)
    detail: str = ""

    def to_json(self) -> str:
        return json.dumps(self.__dict__, sort_keys=True)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def record_file(host: str, path: str, *, existed: bool, backup: str | None, sha256_after: str, sudo: bool,
                run_id: str, kind: str = "file", detail: str = "") -> None:
    """Append one file change to the run's changes.jsonl (nothing outside a recorded run)."""
    target = changes_file()
    if target is None:
        return
    at = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    entry = FileChange(host, path, existed, backup, sha256_after, sudo, run_id, at, kind, detail)
    with open(target, "a") as f:
        f.write(entry.to_json() + "\n")


def read_changes(run_dir: str | Path) -> list[FileChange]:
    path = Path(run_dir) / CHANGES
    if not path.exists():
        return []
    return [FileChange(**json.loads(line)) for line in path.read_text().splitlines() if line.strip()]


def record_remote(h, path: str, *, existed: bool, backup: str | None, sudo: bool = False) -> None:
    """Record a file changed by a command on the host (e.g. keytool), hashing it there."""
    if changes_file() is None:
        return
    res = h.run("sha256sum %s", path, sudo=sudo)
    digest = res.stdout.split()[0] if res.ok and res.stdout.strip() else ""
    record_file(h.name, path, existed=existed, backup=backup, sha256_after=digest, sudo=sudo, run_id=h.run_id)


def record_made(h, path: str, *, kind: str, sudo: bool = False, detail: str = "") -> None:
    """Record a folder the run created (``dir``: rollback removes it once empty), something it made that
    rollback only lists (``listed``: an SVN repository), or what a schedule it started writes and is
    (``output``, ``loop``, ``cron``: see FileChange.kind)."""
    record_file(h.name, path, existed=False, backup=None, sha256_after="", sudo=sudo, run_id=h.run_id, kind=kind,
                detail=detail)
