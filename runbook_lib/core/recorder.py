"""The run record: one JSON line per plan, apply and check table a section
shows (``record.jsonl`` in the run folder), from which the headless runner
counts changes and checks and the run report lists them.

A run owns its ``Recorder`` (``context.Run.recorder``); the notebook cells
(``cells.preview/apply/verify``) hand it what they show. The headless runner
names the file to the kernel that executes the notebooks through the
environment (RUNBOOK_RECORD, RUNBOOK_SECTION): a run opened without them
(JupyterLab, tests) records nothing. Every entry is data: the hosts and
files a change is on and its edits are fields, never read back out of a
message's text. Secrets are masked as the entry is written.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Iterator

from ..params.secrets import mask_known, mask_text
from .step import Checks, Report

if TYPE_CHECKING:
    from .change import Change

RECORD_ENV, SECTION_ENV = "RUNBOOK_RECORD", "RUNBOOK_SECTION"


def change_entry(c: "Change") -> dict:
    """One change as the record keeps it (masked when the line is written)."""
    return {"target": c.target, "host": c.host, "path": c.path, "summary": c.summary, "diff": c.diff,
            "commands": list(c.commands), "notes": list(c.notes), "pending": c.pending(),
            "edits": [{"what": e.what, "before": e.before, "after": e.after, "line": e.line, "text": e.text,
                       "changed": e.changed} for e in c.edits]}


def report_entry(r: Report) -> dict:
    return {"type": "report", "title": r.title, "applied": r.applied,
            "changed": len(r.changed), "total": len(r.changes),
            "targets": [c.target for c in r.changed], "hosts": sorted({c.host for c in r.changed if c.host}),
            "changes": [change_entry(c) for c in r.changed]}


def checks_entry(checks: Checks) -> dict:
    f, t = len(checks.failed), len(checks.to_change)
    return {"type": "checks", "title": checks.title, "headline": checks.headline(),
            "passed": len(checks.checks) - f - t, "to_change": t, "failed": f,
            "failures": [f"{c.host}: {c.what}" for c in checks.failed],
            "rows": [{"host": c.host, "what": c.what, "expected": c.expected, "found": c.found,
                      "state": checks.state(c), "fix": c.fix if checks.state(c) == "FAIL" else ""}
                     for c in checks.checks]}


def info_entry(checks: Checks) -> dict:
    """A table shown for information (``Checks.information``): counted as up/down, never as failed checks."""
    return {"type": "info", "title": checks.title, "up": len(checks.checks) - len(checks.failed),
            "down": len(checks.failed)}


def entry(obj: object) -> dict | None:
    """The record entry of a shown Report or Checks; None for anything else."""
    if isinstance(obj, Report):
        return report_entry(obj)
    if isinstance(obj, Checks):
        return info_entry(obj) if obj.information else checks_entry(obj)
    return None


_SEP = "\n\x1e\n"  # between an entry's strings while they are masked together (a line of its own)


def _strings(value: object, out: list[str]) -> None:
    if isinstance(value, str):
        out.append(value)
    elif isinstance(value, dict):
        for v in value.values():
            _strings(v, out)
    elif isinstance(value, list):
        for v in value:
            _strings(v, out)


def _put(value: object, masked: Iterator[str]) -> object:
    if isinstance(value, str):
        return next(masked)
    if isinstance(value, dict):
        return {k: _put(v, masked) for k, v in value.items()}
    if isinstance(value, list):
        return [_put(v, masked) for v in value]
    return value


def _masked(value: object) -> object:
    """Every string in an entry masked as text of its own (then the line again as a whole),
    in one pass over them all: an entry of a 32-host step holds thousands of strings. Each
    distinct string once: most repeat from host to host (the same diff of the same file on
    128 workers is 2 MB of text to search, 16 kB once)."""
    strings: list[str] = []
    _strings(value, strings)
    distinct = list(dict.fromkeys(strings))
    masked = mask_text(_SEP.join(distinct)).split(_SEP)
    if len(masked) != len(distinct):  # a rule matched across two strings: mask them one by one
        masked = [mask_text(x) for x in distinct]
    by_string = dict(zip(distinct, masked))
    return _put(value, iter([by_string[x] for x in strings]))


@dataclass
class Recorder:
    """Appends entries to the run record at PATH (None: records nothing)."""

    path: str | None = None
    section: str = ""
    _read: int = field(default=0, repr=False, compare=False)  # bytes of the record already parsed
    _kept: list[dict] = field(default_factory=list, repr=False, compare=False)

    @classmethod
    def from_env(cls) -> "Recorder":
        """The record the headless runner keeps for this section, if any."""
        return cls(os.environ.get(RECORD_ENV) or None, os.environ.get(SECTION_ENV, ""))

    def add(self, obj: object) -> None:
        e = entry(obj)
        if self.path is None or e is None:
            return
        with open(self.path, "a") as f:
            f.write(mask_known(json.dumps(_masked({**e, "section": self.section}), sort_keys=True)) + "\n")

    def entries(self) -> list[dict]:
        """Every entry so far. The record only grows (appended, one line per entry), so only
        what was added since the last call is read: each step's checks ask for it."""
        if self.path is None or not os.path.exists(self.path):
            return []
        with open(self.path, "rb") as f:
            f.seek(0, os.SEEK_END)
            if f.tell() < self._read:  # a new record under the same name: read it from the start
                self._read, self._kept = 0, []
            f.seek(self._read)
            added = f.read()
        whole = added[:added.rfind(b"\n") + 1]  # a line still being written is read next time
        self._read += len(whole)
        self._kept += [json.loads(line) for line in whole.splitlines() if line.strip()]
        return list(self._kept)

    def unapplied_hosts(self) -> set[str]:
        """Hosts with changes that a plan of this run showed and did not apply
        (this section's and, in a headless run, the sections' before it)."""
        return {h for e in self.entries() if e["type"] == "report" and not e["applied"] for h in e["hosts"]}
