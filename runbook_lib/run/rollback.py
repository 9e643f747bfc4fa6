"""Undo one run's file changes from the backups that run made.

A run records every file it wrote in ``changes.jsonl`` (changelog.py): the
first entry for a file says what was there before the run (a backup, or
nothing), the last one the sha256 the run left. Rollback puts the backup back
byte for byte (or removes a file the run created), but only where the file is
still what the run left: a file changed since (drift) is refused unless
``force``. It shows the diff it is about to restore first.

Folders the run created (08's test webapp) are removed once empty. A schedule the
run started (06's rsync loop or crontab line) is stopped first and the files it
wrote removed (rollback_schedule.py). Databases,
users, grants and tables the run created, and the SVN repository it created
(05), are listed, never dropped: dropping data must be a person's decision.
"""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass, field
from pathlib import Path

from ..core.change import unified_diff
from ..core.errors import RunbookError
from ..core.redact import redact_text
from ..remote.host import Host
from . import rollback_schedule as schedule
from .changelog import FileChange, read_changes, sha256

DB_PREFIXES = ("database ", "user ", "grant ", "tables in ")

RESTORE_SCRIPT = """set -e
trap "rm -f {tmp}" EXIT
cp -p {bak} {tmp}
if ! mv -f {tmp} {path} 2>/dev/null; then cat {tmp} > {path}; fi
"""


@dataclass
class FileRollback:
    host: str
    path: str
    action: str  # restore | remove | stop (a schedule the run started) | unchanged | refused | impossible
    reason: str = ""
    diff: str = ""
    done: bool = False

    def line(self) -> str:
        return f"  {self.action:<10} {self.host}:{self.path}" + (f"  ({self.reason})" if self.reason else "")


@dataclass
class RollbackReport:
    run_dir: str
    dry_run: bool
    files: list[FileRollback] = field(default_factory=list)
    database_items: list[str] = field(default_factory=list)
    listed_items: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not [f for f in self.files if f.action in ("refused", "impossible")]

    def text(self, diffs: bool = True) -> str:
        verb = "would roll back" if self.dry_run else "rolled back"
        out = [f"{verb} {self.run_dir}: {sum(f.action in ('restore', 'remove') for f in self.files)} file(s)"
               + (f", stopped {n} schedule(s)" if (n := sum(f.action == "stop" for f in self.files)) else "")]
        for f in self.files:
            out.append(f.line())
            if diffs and f.diff:
                out += ["    " + x for x in f.diff.rstrip("\n").splitlines()]
        if self.database_items:
            out.append("Created or changed in the database by this run, listed only, NOT dropped or reverted "
                       "(dropping data is a person's decision; do it by hand once nothing uses it):")
            out += [f"  {x}" for x in self.database_items]
        if self.listed_items:
            out.append("Made by this run and kept, listed only, NOT removed (it may hold what the nodes committed "
                       "since; remove it by hand once no node uses it):")
            out += [f"  {x}" for x in self.listed_items]
        refused = [f for f in self.files if f.action == "refused"]
        if refused:
            out.append(f"{len(refused)} file(s) changed since that run were left as they are. Fix: look at the "
                       "diff, then run again with --force to restore them anyway")
        if not self.dry_run and any(f.done for f in self.files):
            out.append("Restart or reload the services that read these files (nginx, the Carbon nodes) so they "
                       "take effect.")
        return redact_text("\n".join(out))  # the diffs are redacted already; paths and reasons too


def _groups(changes: list[FileChange]) -> list[tuple[FileChange, FileChange]]:
    """(first, last) change per host:path, in order of first write."""
    firsts: dict[tuple[str, str], FileChange] = {}
    lasts: dict[tuple[str, str], FileChange] = {}
    for c in changes:
        firsts.setdefault((c.host, c.path), c)
        lasts[(c.host, c.path)] = c
    return [(firsts[k], lasts[k]) for k in firsts]


def database_items(run_dir: Path) -> list[str]:
    record = run_dir / "record.jsonl"
    items: list[str] = []
    if record.exists():
        for line in record.read_text().splitlines():
            entry = json.loads(line)
            if entry.get("type") == "report" and entry.get("applied"):
                items += [t for t in entry.get("targets", []) if t.startswith(DB_PREFIXES) and t not in items]
    return items


def _plan_dir(h: Host, first: FileChange, removing: set[str]) -> FileRollback:
    """A folder the run created: removed when it holds nothing but what this
    rollback removes (its files come first: they were recorded after it)."""
    fr = FileRollback(first.host, first.path, "remove", "the run created it (an empty folder)")
    res = h.run("test -d %s || exit 3; find %s -mindepth 1 -type f", first.path, first.path, sudo=first.sudo)
    others = [x for x in res.stdout.split("\n") if x and x not in removing]
    if res.rc == 3:
        fr.action, fr.reason = "unchanged", "already as before the run (no such folder)"
    elif others:
        fr.action = "refused"
        fr.reason = f"the folder the run created holds files it did not make: {' '.join(others[:3])}"
    return fr


def _plan_one(h: Host, first: FileChange, last: FileChange, force: bool) -> tuple[FileRollback, bytes | None]:
    sudo = first.sudo or last.sudo
    current = h.read_file(first.path, sudo=sudo)
    fr = FileRollback(first.host, first.path, "restore")
    now = sha256(current) if current is not None else "(absent)"
    drift = now != last.sha256_after
    if first.existed and not first.backup:
        fr.action, fr.reason = "impossible", "the run wrote it without a backup"
        return fr, None
    before: bytes | None = None
    if first.existed:
        before = h.read_file(first.backup, sudo=sudo)
        if before is None:
            fr.action, fr.reason = "impossible", f"its backup {first.backup} is gone"
            return fr, None
    if current == before:
        fr.action, fr.reason = "unchanged", "already as before the run"
        return fr, before
    fr.diff = unified_diff(current or b"", before or b"", first.path) if b"\0" not in (current or b"") + \
        (before or b"") else f"binary file: sha256 {now} -> {sha256(before) if before is not None else '(absent)'}\n"
    if first.existed:
        fr.reason = f"from {first.backup}"
    else:
        fr.action, fr.reason = "remove", "the run created it"
    if drift:
        why = f"changed since that run (sha256 now {now[:12]}, the run left {last.sha256_after[:12]})"
        if not force:
            fr.action, fr.reason = "refused", why
        else:
            fr.reason += f"; forced although {why}"
    return fr, before


def rollback(run_dir: str | Path, hosts: dict[str, Host], *, only: list[str] | None = None, dry_run: bool = False,
             force: bool = False) -> RollbackReport:
    """Roll back RUN_DIR's file changes on HOSTS (all, or ONLY these host names)."""
    run_dir = Path(run_dir)
    changes = read_changes(run_dir)
    if not changes and not (run_dir / "record.jsonl").exists():
        raise RunbookError(f"{run_dir} is not a run folder (no changes.jsonl or record.jsonl). Fix: give the "
                           "folder `runbook run --apply` printed, e.g. runs/20261129T120000Z")
    report = RollbackReport(str(run_dir), dry_run, database_items=database_items(run_dir))
    removing: set[str] = set()
    for first, last in reversed(_groups(changes)):
        if only and first.host not in only:
            continue
        h = hosts.get(first.host)
        if h is None:
            report.files.append(FileRollback(first.host, first.path, "impossible", "host not in the params"))
            continue
        if first.kind == "listed":
            report.listed_items.append(f"{first.host}:{first.path}")
            continue
        if first.kind in ("loop", "cron"):
            stop = schedule.stop_loop if first.kind == "loop" else schedule.remove_cron_line
            action, reason, done = stop(h, first, dry_run)
            report.files.append(FileRollback(first.host, first.path, action, reason, done=done))
            if action == "stop" and not dry_run and not done:
                raise RunbookError(f"{h.name}: {reason} did not stop. Fix: end it by hand ("
                                   f"{'kill it' if first.kind == 'loop' else 'crontab -e'}), then roll back again")
            continue
        if first.kind == "output":
            fr, before = FileRollback(first.host, first.path, *schedule.plan_output(h, first)), None
        elif first.kind == "dir":
            fr, before = _plan_dir(h, first, removing), None
        else:
            fr, before = _plan_one(h, first, last, force)
        report.files.append(fr)
        if fr.action == "remove":
            removing.add(first.path)
        if dry_run or fr.action not in ("restore", "remove"):
            continue
        sudo = first.sudo or last.sudo
        if first.kind == "dir":
            h.check("find %s -depth -type d -exec rmdir {} +", first.path, sudo=sudo)  # empty folders only
            fr.done = not h.run("test -e %s", first.path, sudo=sudo).ok
        elif fr.action == "remove":
            h.check("rm -f %s", first.path, sudo=sudo)
            fr.done = h.read_file(first.path, sudo=sudo) is None
        else:
            tmp = f"{first.path}.runbook-rollback"
            h.check(RESTORE_SCRIPT.format(bak=shlex.quote(first.backup or ""), tmp=shlex.quote(tmp),
                                          path=shlex.quote(first.path)), sudo=sudo)
            after = h.read_file(first.path, sudo=sudo)
            fr.done = after == before
            if not fr.done:
                raise RunbookError(f"{h.name}:{first.path}: after the restore its content differs from "
                                   f"{first.backup}. Fix: compare the two files by hand")
            fr.reason += ", byte for byte"
    return report
