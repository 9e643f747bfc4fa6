"""What a section proves, kept as data for the run report, and what it is
doing now, for the terminal of a headless run.

``write(kind, **data)`` appends one JSON line to ``evidence.jsonl`` beside
the run record (``RUNBOOK_RECORD``): 08's membership matrix and request
spreads, 07's coordinator, the log lines behind a "started", "joined",
"left" or "coordinator" verdict. The report's front page draws them
(run/report_proof.py); it never reads them back out of a notebook's HTML.
``note(text)`` appends a line to ``RUNBOOK_PROGRESS``, which ``runbook run``
prints, with the time, while the section runs ("starting worker2").
Outside a headless run (JupyterLab, tests) both do nothing. Every string
is masked as the line is written.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

from ..params.secrets import mask_text

EVIDENCE = "evidence.jsonl"
# log4j's layout in Carbon: "TID: [-1234] [] [2026-12-06 09:14:02,123]  INFO {logger} -  message"
_STAMP = re.compile(r"\[(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:,\d+)?)\]")


def evidence_file() -> Path | None:
    record = os.environ.get("RUNBOOK_RECORD")
    return Path(record).parent / EVIDENCE if record else None


def _masked(value: object) -> object:
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, dict):
        return {k: _masked(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_masked(v) for v in value]
    return value


def write(kind: str, **data: object) -> None:
    """Append one piece of evidence (KIND: "started", "membership", "left", "spread", "coordinator")."""
    target = evidence_file()
    if target is None:
        return
    entry = {"kind": kind, "section": os.environ.get("RUNBOOK_SECTION", ""), **data}
    with open(target, "a") as f:
        f.write(json.dumps(_masked(entry), sort_keys=True) + "\n")


def read(run_dir: str | Path) -> list[dict]:
    path = Path(run_dir) / EVIDENCE
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def quote(line: str, node: str, host: str, log: str) -> dict:
    """A log line as the report quotes it: the node's own words, with its time stamp."""
    m = _STAMP.search(line)
    return {"node": node, "host": host, "log": log, "at": m.group(1) if m else "", "line": line.strip()}


def quotes(text: str, pattern: "re.Pattern[str] | str", node: str, host: str, log: str, last: int = 2) -> list[dict]:
    """The LAST lines of TEXT that match PATTERN (a regex or a plain string), quoted."""
    match = pattern.search if isinstance(pattern, re.Pattern) else (lambda ln: pattern in ln)
    lines = [ln for ln in text.splitlines() if match(ln)]
    return [quote(ln, node, host, log) for ln in lines[-last:]]


def note(text: str) -> None:
    """A sub-step line for the terminal of a headless run ("waiting for membership 12/60 s")."""
    path = os.environ.get("RUNBOOK_PROGRESS") if os.environ.get("RUNBOOK_HEADLESS") == "1" else None
    if not path:
        return
    try:
        with open(path, "a") as f:
            f.write(f"{mask_text(text)}\n")
    except OSError:
        pass
