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
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..params.secrets import mask_text
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


def _masked(value: object) -> object:
    """Every string in an entry masked, field by field (then the line again as a whole)."""
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, dict):
        return {k: _masked(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_masked(v) for v in value]
    return value


@dataclass
class Recorder:
    """Appends entries to the run record at PATH (None: records nothing)."""

    path: str | None = None
    section: str = ""

    @classmethod
    def from_env(cls) -> "Recorder":
        """The record the headless runner keeps for this section, if any."""
        return cls(os.environ.get(RECORD_ENV) or None, os.environ.get(SECTION_ENV, ""))

    def add(self, obj: object) -> None:
        e = entry(obj)
        if self.path is None or e is None:
            return
        with open(self.path, "a") as f:
            f.write(mask_text(json.dumps(_masked({**e, "section": self.section}), sort_keys=True)) + "\n")

    def entries(self) -> list[dict]:
        if self.path is None or not os.path.exists(self.path):
            return []
        with open(self.path) as f:
            return [json.loads(line) for line in f if line.strip()]

    def unapplied_hosts(self) -> set[str]:
        """Hosts with changes that a plan of this run showed and did not apply
        (this section's and, in a headless run, the sections' before it)."""
        return {h for e in self.entries() if e["type"] == "report" and not e["applied"] for h in e["hosts"]}
