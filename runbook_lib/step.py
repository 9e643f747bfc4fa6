"""Plan, apply, verify: the shape of every mutating step.

A ``Plan`` is a list of named operations, each a function ``dry_run -> Change``.
``preview()`` runs them all with ``dry_run=True`` (the same code as a real
run, minus the writes); ``apply()`` runs them for real. ``Checks`` are the
verification: expected vs found on the live hosts; a failed check raises
``CheckFailed`` after the table is shown, so papermill stops at that cell.

Display objects carry both text/plain (stable, for nbval) and text/html
(coloured, for JupyterLab); every string passes through the secret masker.
"""

from __future__ import annotations

import html
import json
import os
from dataclasses import dataclass, field
from typing import Callable

from .change import Change
from .errors import CheckFailed, RunbookError
from .params.secrets import mask_text
from .textview import TextShown, text_table

OpFn = Callable[[bool], Change]


@dataclass(frozen=True)
class Operation:
    target: str
    fn: OpFn

    def run(self, dry_run: bool) -> Change:
        try:
            return self.fn(dry_run)
        except RunbookError as e:
            if self.target not in str(e):  # name the host and file, e.g. for a parse error deep inside
                _amend(e, prefix=f"{self.target}: ")
            raise
        except Exception as e:  # a fault in one operation names it
            raise RunbookError(f"{self.target}: {type(e).__name__}: {e}") from e


def _diff_html(diff: str) -> str:
    rows = []
    for line in diff.splitlines():
        color = "#1a7f37" if line.startswith("+") and not line.startswith("+++") else \
                "#cf222e" if line.startswith("-") and not line.startswith("---") else \
                "#8250df" if line.startswith("@@") else "#57606a"
        rows.append(f'<span style="color:{color}">{html.escape(line)}</span>')
    return ('<pre style="font-size:12px;background:#f6f8fa;padding:6px;margin:2px 0 8px 0">'
            + "\n".join(rows) + "</pre>")


@dataclass(repr=False)
class Report(TextShown):
    """The outcome of previewing or applying a plan: one Change per operation."""

    title: str
    applied: bool
    changes: list[Change] = field(default_factory=list)

    @property
    def changed(self) -> list[Change]:
        return [c for c in self.changes if c.changed]

    def headline(self) -> str:
        n = len(self.changed)
        if n == 0:
            return f"{self.title}: no changes - everything already as intended ({len(self.changes)} checked)"
        verb = "changed" if self.applied else "would change"
        return f"{self.title}: {n} of {len(self.changes)} {verb}"

    def text(self) -> str:
        out = [self.headline()]
        for c in self.changes:
            out.append(str(c))
            for cmd in c.commands:
                out.append(f"    $ {cmd}")
            if c.diff:
                out.append(c.diff.rstrip("\n"))
        return mask_text("\n".join(out))

    def _repr_html_(self) -> str:
        parts = [f"<b>{html.escape(mask_text(self.headline()))}</b><ul>"]
        for c in self.changes:
            mark = "&#9998;" if c.changed else "&#10003;"
            parts.append(f"<li>{mark} <code>{html.escape(mask_text(c.target))}</code>: "
                         f"{html.escape(mask_text(c.summary))}")
            if c.commands:
                parts.append(_diff_html("\n".join(f"$ {mask_text(x)}" for x in c.commands)))
            if c.diff:
                parts.append(_diff_html(mask_text(c.diff)))
            parts.append("</li>")
        return "".join(parts) + "</ul>"

    def record(self) -> dict:
        return {"type": "report", "title": self.title, "applied": self.applied,
                "changed": len(self.changed), "total": len(self.changes),
                "targets": [c.target for c in self.changed]}


def _amend(e: RunbookError, prefix: str = "", suffix: str = "") -> None:
    """Add context to an error's message in place (same type, same fix), so
    callers that catch a specific error still do."""
    first = str(e.args[0]) if e.args else ""
    e.args = (prefix + first + suffix, *e.args[1:])
    if hasattr(e, "message"):
        e.message = prefix + str(e.message) + suffix


def _stopped(title: str, failed: "Operation", done: list[Change], rest: list["Operation"]) -> str:
    changed = [c.target for c in done if c.changed]
    same = [c.target for c in done if not c.changed]
    return (f"`{title}` stopped at {failed.target} (files are written atomically: a file there keeps its previous "
            "content). "
            f"Already applied in this step: {', '.join(changed) or 'nothing'}"
            + (f"; already as intended: {', '.join(same)}" if same else "")
            + f". Not attempted: {', '.join(o.target for o in rest) or 'nothing'}. "
            "Fix the error above, then run again: what was applied reports no change.")


class Plan:
    def __init__(self, title: str, operations: list[Operation]) -> None:
        self.title = title
        self.operations = operations

    def preview(self) -> Report:
        try:
            return Report(self.title, False, [op.run(dry_run=True) for op in self.operations])
        except RunbookError as e:
            _amend(e, suffix=f"\nNothing was written by `{self.title}` on any host: the plan is made before "
                   "anything is applied")
            raise

    def apply(self) -> Report:
        done: list[Change] = []
        for i, op in enumerate(self.operations):
            try:
                done.append(op.run(dry_run=False))
            except RunbookError as e:
                # Say what happened to every other target, and show the changes already made.
                show(Report(f"{self.title} (stopped by the error below)", True, done))
                _amend(e, suffix="\n" + _stopped(self.title, op, done, self.operations[i + 1:]))
                raise
        return Report(self.title, True, done)

    def run(self, apply: bool) -> Report:
        """Apply when the notebook's ``apply`` parameter is true, else preview."""
        return self.apply() if apply else self.preview()


def headless() -> bool:
    """True under the runner, nbval and tests: never offer a button there."""
    return os.environ.get("RUNBOOK_HEADLESS") == "1"


def apply(plan: Plan, run) -> None:  # noqa: ANN001 - a context.Run
    """The apply cell: applies when ``run.apply`` is true and shows what
    changed. Otherwise says so and, in JupyterLab only, offers an Apply
    button for the plan just shown; nothing ever waits for a click."""
    if run.apply:
        show(plan.apply())
        return
    show(Skipped(plan.title))
    if not headless():
        _apply_button(plan)


@dataclass(frozen=True, repr=False)
class Skipped(TextShown):
    title: str

    def text(self) -> str:
        return f"{self.title}: not applied (apply=False). Re-run with apply=True to make these changes."


def _apply_button(plan: Plan) -> None:
    try:
        import ipywidgets as w
        from IPython.display import display
    except ImportError:
        return
    button = w.Button(description="Apply", button_style="warning", icon="check",
                      tooltip=f"apply: {plan.title}")
    out = w.Output()

    def on_click(_):  # noqa: ANN001
        button.disabled = True
        with out:
            try:
                show(plan.apply())
            except Exception as e:  # shown in the output area, like a failed cell
                print(f"apply failed: {type(e).__name__}: {mask_text(str(e))}")
                button.disabled = False

    button.on_click(on_click)
    display(w.VBox([button, out]))


@dataclass(frozen=True)
class Check:
    host: str
    what: str
    expected: str
    found: str
    ok: bool
    fix: str = ""


class Checks(TextShown):
    """A verification table. ``require()`` raises when any check failed."""

    def __init__(self, title: str, checks: list[Check]) -> None:
        self.title, self.checks = title, checks

    @property
    def failed(self) -> list[Check]:
        return [c for c in self.checks if not c.ok]

    def headline(self) -> str:
        f = len(self.failed)
        return f"{self.title}: {len(self.checks) - f} passed, {f} failed"

    def text(self) -> str:
        rows = [("", "HOST", "CHECK", "EXPECTED", "FOUND")]
        rows += [("ok" if c.ok else "FAIL", c.host, c.what, mask_text(c.expected), mask_text(c.found))
                 for c in self.checks]
        lines = [self.headline(), *text_table(rows, max_width=60)]
        lines += [f"FIX {c.host}: {c.fix}" for c in self.failed if c.fix]
        return mask_text("\n".join(lines))

    def _repr_html_(self) -> str:
        e = lambda s: html.escape(mask_text(str(s)))  # noqa: E731
        head = "".join(f"<th style='text-align:left'>{h}</th>" for h in ("", "host", "check", "expected", "found", "fix"))
        body = "".join(
            f"<tr style='background:{'#dafbe1' if c.ok else '#ffebe9'}'><td>{'&#10003;' if c.ok else '&#10007;'}</td>"
            f"<td>{e(c.host)}</td><td>{e(c.what)}</td><td><code>{e(c.expected)}</code></td>"
            f"<td><code>{e(c.found)}</code></td><td>{'' if c.ok else e(c.fix)}</td></tr>"
            for c in self.checks)
        return f"<b>{e(self.headline())}</b><table class='runbook-checks'><tr>{head}</tr>{body}</table>"

    def record(self) -> dict:
        return {"type": "checks", "title": self.title, "passed": len(self.checks) - len(self.failed),
                "failed": len(self.failed), "failures": [f"{c.host}: {c.what}" for c in self.failed]}

    def require(self) -> "Checks":
        if self.failed:
            raise CheckFailed(mask_text(self.headline() + " (see the table above): "
                                        + "; ".join(f"{c.host}: {c.what}" for c in self.failed)))
        return self


def _record(obj: object) -> None:
    """Append what was shown to the run record (for the headless runner's summary)."""
    path = os.environ.get("RUNBOOK_RECORD")
    if path and hasattr(obj, "record"):
        with open(path, "a") as f:
            f.write(mask_text(json.dumps(obj.record(), sort_keys=True)) + "\n")


def show(obj: object) -> None:
    """Display in Jupyter (text and HTML), print elsewhere."""
    _record(obj)
    try:
        from IPython import get_ipython
        from IPython.display import display
        if get_ipython() is not None:
            display(obj)
            return
    except ImportError:
        pass
    print(obj.text() if hasattr(obj, "text") else mask_text(str(obj)))


def verify(checks: Checks) -> None:
    """Show the table, then raise if anything failed (so papermill stops here).
    Returns nothing, so a cell ending with it shows the table once."""
    show(checks)
    checks.require()
