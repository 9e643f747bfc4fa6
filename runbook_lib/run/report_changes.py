"""The report's "what changed" table (plan: "what would change"): one row
per change, with its section, host, file or object, what (each edit a list
item) and backup, from the run record's reports and ``changes.jsonl``.

Every file write ``changes.jsonl`` holds gets a row: a write the record
names is matched to it by section, host and path (and gets its backup);
one it does not name (a file a command rewrote) gets a row of its own. The
section of a write is the one that ran while its line was appended (the
runner keeps each section's lines of changes.jsonl: ``files`` in
summary.json). Where a plan and
what was applied differ, the row says why where it happens: a file an
earlier section of the same plan already changes (06's /etc/hosts after
05's), or a change planned but found already as intended when applied."""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from pathlib import Path

from ..params.secrets import mask_text
from .changelog import FileChange, read_changes


def _e(text: object) -> str:
    return html.escape(mask_text(str(text)))


@dataclass
class Row:
    section: str
    host: str
    target: str
    what: list[str]
    backup: str = ""
    note: str = ""
    files: list[FileChange] = field(default_factory=list)


@dataclass(frozen=True)
class Written:
    """A line of changes.jsonl and the section that wrote it."""

    section: str
    change: FileChange


def written(run_dir: Path, ranges: dict[str, list[int]]) -> list[Written]:
    """changes.jsonl's lines, each with its section (RANGES: section -> [from, to) line numbers)."""
    def section_of(i: int) -> str:
        return next((name for name, r in ranges.items() if len(r) == 2 and r[0] <= i < r[1]), "")
    return [Written(section_of(i), f) for i, f in enumerate(read_changes(run_dir))]


def _what(c: dict) -> list[str]:
    """The change's edits (not the parts already as intended), else its summary."""
    parts = c.get("pending") or []
    return list(parts) or [c.get("summary", "")]


def _backup(files: list[FileChange], apply: bool, target: str) -> str:
    if not target.startswith("/"):
        return "(not a file)"
    if not apply:
        return "taken when applied"
    if not files:
        return "none recorded (see the section)"
    first = files[0]
    if first.backup:
        return first.backup
    return "none: the file is new" if not first.existed else "none"


def rows(record: dict[str, list[dict]], sections: list[str], run_dir: Path, apply: bool,
         ranges: dict[str, list[int]] | None = None) -> list[Row]:
    """The table's rows, sections in run order (RANGES: see written)."""
    unmatched = written(run_dir, ranges or {}) if apply else []
    out: list[Row] = []
    seen: dict[tuple[str, str], str] = {}  # (host, target) -> the section that first changes it
    for name in sections:
        entries = record.get(name, [])
        for e in entries:
            if e.get("type") != "report" or e.get("applied") != apply:
                continue
            for c in e.get("changes", []):
                host, target = c.get("host") or "", c.get("path") or c.get("target", "")
                mine = [w for w in unmatched if w.change.host == host and w.change.path == c.get("path")
                        and w.section in ("", name)]
                for w in mine:
                    unmatched.remove(w)
                files = [w.change for w in mine]
                row = Row(name, host, target, _what(c), _backup(files, apply, target), files=files)
                first = seen.setdefault((host, target), name)
                if first != name and target.startswith("/"):
                    row.note = (f"also changed by {first} earlier in this run" if apply else
                                f"{first} changes this {'file' if c.get('path') else 'object'} earlier in this "
                                "plan: once that is applied this step may find it as intended, and an apply "
                                "then counts one change fewer than this plan")
                out.append(row)
        if apply:
            out += _planned_not_made(name, entries)
    for w in unmatched:  # written by a command (keytool, openssl) or a step the record does not name
        f = w.change
        out.append(Row(w.section or "?", f.host, f.path, ["file written (see the section's notebook)"],
                       _backup([f], True, f.path), files=[f]))
    return out


def _planned_not_made(section: str, entries: list[dict]) -> list[Row]:
    """Changes the section's plan showed that applying it did not make (already as intended by then)."""
    made = {c.get("target") for e in entries if e.get("type") == "report" and e.get("applied")
            for c in e.get("changes", [])}
    out = []
    for e in entries:
        if e.get("type") == "report" and not e.get("applied"):
            for c in e.get("changes", []):
                if c.get("target") not in made:
                    out.append(Row(section, c.get("host") or "", c.get("path") or c.get("target", ""), _what(c),
                                   "", "planned, not changed when applied: already as intended by then"))
    return out


def table(rows_: list[Row], apply: bool) -> str:
    title = "What changed" if apply else "What would change (plan only: nothing was changed)"
    if not rows_:
        return f"<h2 id='what-changed'>{title}</h2><p>Nothing: every file and object was already as intended.</p>"
    body = []
    for r in rows_:
        what = "<ul class='what'>" + "".join(f"<li><code>{_e(w)}</code></li>" for w in r.what) + "</ul>"
        if r.note:
            what += f"<p class='expected'>{_e(r.note)}</p>"
        cls = " class='skipped'" if r.note.startswith("planned, not") else ""
        body.append(f"<tr{cls}><td><a href='#{_e(r.section)}'>{_e(r.section)}</a></td><td>{_e(r.host)}</td>"
                    f"<td><code>{_e(r.target)}</code></td><td>{what}</td><td><code>{_e(r.backup)}</code></td></tr>")
    made = sum(1 for r in rows_ if not r.note.startswith("planned, not"))
    return (f"<h2 id='what-changed'>{title}: {made} change{'s' * (made != 1)}</h2>"
            "<table id='changes'><tr><th>section</th><th>host</th><th>file or object</th><th>what</th>"
            "<th>backup</th></tr>" + "".join(body) + "</table>")
