"""How plans and check tables look: text/plain (stable, for nbval and the
headless runner) and text/html (coloured, for JupyterLab). Every string
passes through the secret masker; ``shown_diff`` is the one place a
change's diff is made ready for display, in both forms."""

from __future__ import annotations

import html
import re
from typing import Any

from ..params.secrets import mask_known, mask_text
from .fold import fold, host_list
from .textview import diff_kind, text_table

# The model (step.py: Report, Checks; change.py: Change) calls these to show itself,
# so they take its objects untyped rather than import it back.
Change = Report = Checks = Any

DIFF_COLORS = {"add": "#1a7f37", "del": "#cf222e", "hunk": "#8250df", "": "#57606a"}
CHECK_LOOK = {"ok": ("#dafbe1", "&#10003;"), "to change": ("#fff8c5", "&#9998; to change"),
              "FAIL": ("#ffebe9", "&#10007;")}


def shown_diff(c: Change) -> str:
    """The change's diff as shown (masked)."""
    return mask_text(c.diff)


def diff_html(diff: str) -> str:
    rows = []
    for line in diff.splitlines():
        color = DIFF_COLORS[diff_kind(line)]
        rows.append(f'<span style="color:{color}">{html.escape(line)}</span>')
    return ('<pre style="font-size:12px;background:#f6f8fa;padding:6px;margin:2px 0 8px 0">'
            + "\n".join(rows) + "</pre>")


def change_line(c: Change) -> str:
    """A change as its plan line reads: a changed file names only the settings
    that change (the ones already as intended are counted, not listed)."""
    same = [e for e in c.edits if not e.changed]
    if not c.changed or not same or len(same) == len(c.edits):
        return mask_text(c.summary)
    verb = "would change: " if c.summary.startswith("would change: ") else ""
    line = verb + "; ".join(e.text for e in c.edits if e.changed) + f" ({len(same)} other settings already as intended)"
    return mask_text(line + "".join(f" ({n})" for n in c.notes))


def _change_key(c: Change) -> tuple | None:
    """What makes two changes the same but for their host (None: a change that is not a host's file)."""
    return (c.changed, c.path, change_line(c), c.commands, shown_diff(c)) if c.host_file else None


def _changes(r: Report) -> list[tuple[Change, str, str]]:
    """Each change to show, with its target as shown and what follows its line: identical
    changes on many hosts (fold.py) once, as HOSTS:path, "(the same on N hosts)"."""
    out = []
    for c, hosts in fold(r.changes, lambda c: c.host, _change_key):
        if len(hosts) == 1:
            out.append((c, mask_text(c.target), ""))
        else:
            out.append((c, mask_text(f"{host_list(hosts)}:{c.path}"), f" (the same on {len(hosts)} hosts)"))
    return out


def report_text(r: Report) -> str:
    out = [mask_text(r.headline())]
    for c, target, same in _changes(r):
        out.append(f"[{'CHANGE' if c.changed else 'ok    '}] {target}: " + change_line(c) + same)
        for cmd in c.commands:
            out.append(f"    $ {mask_text(cmd)}")
        if c.diff:
            out.append(shown_diff(c).rstrip("\n"))
    return mask_known("\n".join(out))  # each part masked above; a value one revealed, masked in all


def report_html(r: Report) -> str:
    parts = [f"<b>{html.escape(mask_text(r.headline()))}</b><ul style='list-style:none;padding-left:0'>"]
    for c, target, same in _changes(r):
        mark = "&#9998;" if c.changed else "&#10003;"
        parts.append(f"<li>{mark} <code>{html.escape(target)}</code>: "
                     f"{html.escape(change_line(c) + same)}")
        if c.commands:
            parts.append(diff_html("\n".join(f"$ {mask_text(x)}" for x in c.commands)))
        if c.diff:
            parts.append(diff_html(shown_diff(c)))
        parts.append("</li>")
    return "".join(parts) + "</ul>"


_NODE_PREFIX = re.compile(r"^([\w.\-]+): (.+)$", re.S)  # a check's WHAT: "worker7: registry.xml dataSource"


def _split_what(what: str) -> tuple[str, str]:
    m = _NODE_PREFIX.match(what)
    return (m.group(1), m.group(2)) if m else ("", what)


def folded_checks(checks: Checks, rows: list) -> list[tuple[Any, str, str]]:
    """ROWS with the host and check each stands for as shown: rows alike but for their host and
    node (state, check, expected, found, fix) on many hosts (fold.py) once, as
    "ei103..ei230 (128 hosts)" and "worker1..worker128: registry.xml dataSource"."""
    keys: dict[int, tuple] = {}  # by id(row): each row's key, made once
    nodes: dict[tuple, list[str]] = {}  # the node names each key's rows begin with
    for x in rows:
        node, rest = _split_what(x.what)
        keys[id(x)] = k = (checks.state(x), rest, x.expected, x.found, x.fix, x.via)
        nodes.setdefault(k, []).append(node)
    out = []
    for c, hosts in fold(rows, lambda c: c.host, lambda c: keys[id(c)]):
        if len(hosts) == 1:
            out.append((c, c.host, c.what))
            continue
        named = list(dict.fromkeys(n for n in nodes[keys[id(c)]] if n))
        what = f"{host_list(named)}: {_split_what(c.what)[1]}" if named else c.what
        out.append((c, f"{host_list(hosts)} ({len(hosts)} hosts)", what))
    return out


def checks_text(checks: Checks) -> str:
    rows = [("", "HOST", "CHECK", "EXPECTED", "FOUND")]
    rows += [(checks.state(c), mask_text(host), mask_text(what), mask_text(c.expected), mask_text(c.found))
             for c, host, what in folded_checks(checks, checks.checks)]
    lines = [mask_text(checks.headline()), *text_table(rows, max_width=60)]
    if checks.to_change:
        lines.append("to change: not as intended yet; the plan above changes this host, and a run "
                     "with apply=True makes and verifies it")
    lines += [mask_text(f"FIX {host}: {c.fix}") for c, host, _ in folded_checks(checks, checks.failed) if c.fix]
    return mask_known("\n".join(lines))  # each part masked above; a value one revealed, masked in all


# JupyterLab right-aligns table cells and lets a wide table run out of its output area:
# every cell is styled here (left, top, wrapping inside its column), the columns are fixed.
_CELL = "text-align:left;vertical-align:top;overflow-wrap:anywhere;white-space:normal;padding:2px 6px"
_COLS = ("9em", "8em", "30%", "22%", "22%", "auto")


def _rows(checks: Checks, rows: list) -> str:
    e = lambda s: html.escape(mask_text(str(s)))  # noqa: E731
    body = []  # joined once: adding to one string row by row copies it every time (129 hosts: 1.4 s a table)
    for c, host, what in folded_checks(checks, rows):
        st = checks.state(c)
        bg, mark = CHECK_LOOK[st]
        fix = e(c.fix) if st == "FAIL" else "apply the plan above" if st == "to change" else ""
        cells = (mark, e(host), e(what), f"<code style='white-space:pre-wrap'>{e(c.expected)}</code>",
                 f"<code style='white-space:pre-wrap'>{e(c.found)}</code>", fix)
        body.append(f"<tr class='runbook-{st.replace(' ', '-')}' style='background:{bg}'>" + "".join(
            f"<td style='{_CELL}'>{x}</td>" for x in cells) + "</tr>")
    return "".join(body)


def _table(checks: Checks, rows: list) -> str:
    cols = "".join(f"<col style='width:{w}'>" for w in _COLS)
    head = "".join(f"<th style='{_CELL}'>{h}</th>" for h in ("", "host", "check", "expected", "found", "fix"))
    return (f"<table class='runbook-checks' style='table-layout:fixed;width:100%;border-collapse:collapse'>"
            f"<colgroup>{cols}</colgroup><tr>{head}</tr>{_rows(checks, rows)}</table>")


def checks_html(checks: Checks) -> str:
    """Failures first, then "to change", then the passing rows folded under "N passed"."""
    e = lambda s: html.escape(mask_text(str(s)))  # noqa: E731
    order = {"FAIL": 0, "to change": 1}
    misses = sorted((c for c in checks.checks if checks.state(c) != "ok"), key=lambda c: order[checks.state(c)])
    passed = [c for c in checks.checks if checks.state(c) == "ok"]
    out = f"<b>{e(checks.headline())}</b>"
    if misses:
        out += _table(checks, misses)
    if passed:
        out += (f"<details class='runbook-passed'><summary>&#10003; {len(passed)} passed"
                f"</summary>{_table(checks, passed)}</details>")
    return out
