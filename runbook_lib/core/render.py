"""How plans and check tables look: text/plain (stable, for nbval and the
headless runner) and text/html (coloured, for JupyterLab). Every string
passes through the secret masker; ``shown_diff`` is the one place a
change's diff is made ready for display, in both forms."""

from __future__ import annotations

import html
from typing import Any

from ..params.secrets import mask_text
from .textview import diff_kind, text_table

# The model (step.py: Report, Checks; change.py: Change) calls these to show itself,
# so they take its objects untyped rather than import it back.
Change = Report = Checks = Any

DIFF_COLORS = {"add": "#1a7f37", "del": "#cf222e", "hunk": "#8250df", "": "#57606a"}
CHECK_LOOK = {"ok": ("#dafbe1", "&#10003;"), "to change": ("#f6f8fa", "&#9998; to change"),
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


def report_text(r: Report) -> str:
    out = [r.headline()]
    for c in r.changes:
        out.append(str(c))
        for cmd in c.commands:
            out.append(f"    $ {cmd}")
        if c.diff:
            out.append(shown_diff(c).rstrip("\n"))
    return mask_text("\n".join(out))


def report_html(r: Report) -> str:
    parts = [f"<b>{html.escape(mask_text(r.headline()))}</b><ul>"]
    for c in r.changes:
        mark = "&#9998;" if c.changed else "&#10003;"
        parts.append(f"<li>{mark} <code>{html.escape(mask_text(c.target))}</code>: "
                     f"{html.escape(mask_text(c.summary))}")
        if c.commands:
            parts.append(diff_html("\n".join(f"$ {mask_text(x)}" for x in c.commands)))
        if c.diff:
            parts.append(diff_html(shown_diff(c)))
        parts.append("</li>")
    return "".join(parts) + "</ul>"


def checks_text(checks: Checks) -> str:
    rows = [("", "HOST", "CHECK", "EXPECTED", "FOUND")]
    rows += [(checks.state(c), c.host, c.what, mask_text(c.expected), mask_text(c.found)) for c in checks.checks]
    lines = [checks.headline(), *text_table(rows, max_width=60)]
    if checks.to_change:
        lines.append("to change: not as intended yet; the plan above changes this host, and a run "
                     "with apply=True makes and verifies it")
    lines += [f"FIX {c.host}: {c.fix}" for c in checks.failed if c.fix]
    return mask_text("\n".join(lines))


def checks_html(checks: Checks) -> str:
    e = lambda s: html.escape(mask_text(str(s)))  # noqa: E731
    head = "".join(f"<th style='text-align:left'>{h}</th>" for h in ("", "host", "check", "expected", "found", "fix"))
    body = ""
    for c in checks.checks:
        st = checks.state(c)
        bg, mark = CHECK_LOOK[st]
        fix = e(c.fix) if st == "FAIL" else "apply the plan above" if st == "to change" else ""
        body += (f"<tr style='background:{bg}'><td>{mark}</td><td>{e(c.host)}</td><td>{e(c.what)}</td>"
                 f"<td><code>{e(c.expected)}</code></td><td><code>{e(c.found)}</code></td><td>{fix}</td></tr>")
    return f"<b>{e(checks.headline())}</b><table class='runbook-checks'><tr>{head}</tr>{body}</table>"
