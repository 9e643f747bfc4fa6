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

from ..params.secrets import mask_text
from ..remote import fanout
from .change import Change
from .errors import CheckFailed, RunbookError
from .textview import TextShown, text_table, diff_kind

OpFn = Callable[[bool], Change]


@dataclass(frozen=True)
class Operation:
    target: str
    fn: OpFn
    # the host it works on (or another key, e.g. a database): operations of different
    # keys run concurrently, those of one key in order; None: in order with the other Nones
    host: str | None = None

    def run(self, dry_run: bool) -> Change:
        try:
            return self.fn(dry_run)
        except RunbookError as e:
            if self.target not in str(e):  # name the host and file, e.g. for a parse error deep inside
                _amend(e, prefix=f"{self.target}: ")
            raise
        except Exception as e:  # a fault in one operation names it
            raise RunbookError(f"{self.target}: {type(e).__name__}: {e}") from e


DIFF_COLORS = {"add": "#1a7f37", "del": "#cf222e", "hunk": "#8250df", "": "#57606a"}


def _diff_html(diff: str) -> str:
    rows = []
    for line in diff.splitlines():
        color = DIFF_COLORS[diff_kind(line)]
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
                "targets": [c.target for c in self.changed],
                "changes": [{"target": mask_text(c.target), "summary": mask_text(c.summary),
                             "diff": mask_text(c.diff), "commands": [mask_text(x) for x in c.commands]}
                            for c in self.changed]}


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


def _error_text(op: Operation, e: BaseException) -> str:
    text = str(e)
    return text if text.startswith(op.host or op.target) else f"{op.target}: {text}"


class Plan:
    def __init__(self, title: str, operations: list[Operation], before: Callable[[], None] | None = None,
                 after: Callable[[], None] | None = None) -> None:
        self.title = title
        self.operations = operations
        self.before = before  # runs once before each preview/apply (e.g. read what every host's op needs)
        self.after = after  # and once after (e.g. close the connections the operations opened)
        self.last_preview: Report | None = None  # what apply() in a plan-only run leaves pending

    def _run(self, dry_run: bool) -> list[fanout.Result[Change]]:
        """Each host's operations in order, hosts concurrently (fanout.by_host);
        results in the plan's order. Applying, a host stops at its first
        failure (its later operations are not attempted); the other hosts carry
        on, so one host's failure never hides the others'."""
        if self.before is not None:
            self.before()
        try:
            return fanout.by_host(self.operations, lambda op: op.host, lambda op: op.run(dry_run),
                                  label=self.title, stop_on_error=not dry_run)
        finally:
            if self.after is not None:
                self.after()

    def _failures(self, results: list[fanout.Result[Change]]) -> tuple[list, str]:
        """The failed operations (error first in plan order) and, when several
        hosts failed, a line naming every one of them."""
        failed = [(op, r.error) for op, r in zip(self.operations, results)
                  if r.error is not None and not isinstance(r.error, fanout.NotAttempted)]
        if len(failed) < 2:
            return failed, ""
        done = sum(1 for r in results if r.ok)
        return failed, (f"\n{len(failed)} operations failed ({done} others completed): "
                        + "; ".join(_error_text(op, e) for op, e in failed))

    def preview(self) -> Report:
        results = self._run(dry_run=True)
        failed, others = self._failures(results)
        if failed:
            e = failed[0][1]
            if isinstance(e, RunbookError):
                _amend(e, suffix=others + f"\nNothing was written by `{self.title}` on any host: the plan is made "
                       "before anything is applied")
            raise e
        self.last_preview = Report(self.title, False, [r.value for r in results])  # type: ignore[misc]
        return self.last_preview

    def apply(self) -> Report:
        results = self._run(dry_run=False)
        done = [r.value for r in results if r.ok]
        failed, others = self._failures(results)
        if failed:
            op, e = failed[0]
            # Say what happened to every other target, and show the changes already made.
            show(Report(f"{self.title} (stopped by the error below)", True, done))  # type: ignore[arg-type]
            rest = [o for o, r in zip(self.operations, results) if isinstance(r.error, fanout.NotAttempted)]
            if isinstance(e, RunbookError):
                _amend(e, suffix=others + "\n" + _stopped(self.title, op, done, rest))  # type: ignore[arg-type]
            raise e
        return Report(self.title, True, done)  # type: ignore[arg-type]

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
    if plan.last_preview is not None:
        run.note_pending(plan.last_preview.changed)
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
    via: tuple[str, ...] = ()  # other hosts whose state this check reads (e.g. the database host)


def _check_row(c: Check, state: str) -> dict:
    return {"host": c.host, "what": mask_text(c.what), "expected": mask_text(c.expected),
            "found": mask_text(c.found), "state": state, "fix": mask_text(c.fix) if state == "FAIL" else ""}


class Checks(TextShown):
    """A verification table. ``require()`` raises when any check failed.

    After an apply every miss is a failure. In a plan-only run (``planned``)
    a miss on a host with changes still to apply is "to change": the plan
    shown above makes it, and an applied run verifies it. A miss on a host
    with nothing to apply is a failure either way, since applying will not
    reach the value."""

    def __init__(self, title: str, checks: list[Check], pending: frozenset[str] | None = None) -> None:
        self.title, self.checks, self.pending = title, checks, pending

    def planned(self, pending: set[str] | frozenset[str]) -> "Checks":
        """The same table read as a plan: PENDING are the hosts with changes not yet applied."""
        return Checks(self.title, self.checks, frozenset(pending))

    def state(self, c: Check) -> str:
        if c.ok:
            return "ok"
        if self.pending is not None and ({c.host, *c.via} & self.pending):
            return "to change"
        return "FAIL"

    @property
    def failed(self) -> list[Check]:
        return [c for c in self.checks if self.state(c) == "FAIL"]

    @property
    def to_change(self) -> list[Check]:
        return [c for c in self.checks if self.state(c) == "to change"]

    def headline(self) -> str:
        f, t = len(self.failed), len(self.to_change)
        if self.pending is None:
            return f"{self.title}: {len(self.checks) - f} passed, {f} failed"
        return f"{self.title} (plan, not applied): {len(self.checks) - f - t} passed, {t} to change, {f} failed"

    def text(self) -> str:
        rows = [("", "HOST", "CHECK", "EXPECTED", "FOUND")]
        rows += [(self.state(c), c.host, c.what, mask_text(c.expected), mask_text(c.found)) for c in self.checks]
        lines = [self.headline(), *text_table(rows, max_width=60)]
        if self.to_change:
            lines.append("to change: not as intended yet; the plan above changes this host, and a run "
                         "with apply=True makes and verifies it")
        lines += [f"FIX {c.host}: {c.fix}" for c in self.failed if c.fix]
        return mask_text("\n".join(lines))

    def _repr_html_(self) -> str:
        e = lambda s: html.escape(mask_text(str(s)))  # noqa: E731
        look = {"ok": ("#dafbe1", "&#10003;"), "to change": ("#f6f8fa", "&#9998; to change"),
                "FAIL": ("#ffebe9", "&#10007;")}
        head = "".join(f"<th style='text-align:left'>{h}</th>" for h in ("", "host", "check", "expected", "found", "fix"))
        body = ""
        for c in self.checks:
            st = self.state(c)
            bg, mark = look[st]
            fix = e(c.fix) if st == "FAIL" else "apply the plan above" if st == "to change" else ""
            body += (f"<tr style='background:{bg}'><td>{mark}</td><td>{e(c.host)}</td><td>{e(c.what)}</td>"
                     f"<td><code>{e(c.expected)}</code></td><td><code>{e(c.found)}</code></td><td>{fix}</td></tr>")
        return f"<b>{e(self.headline())}</b><table class='runbook-checks'><tr>{head}</tr>{body}</table>"

    def record(self) -> dict:
        f, t = len(self.failed), len(self.to_change)
        return {"type": "checks", "title": self.title, "headline": self.headline(),
                "passed": len(self.checks) - f - t, "to_change": t, "failed": f,
                "failures": [f"{c.host}: {c.what}" for c in self.failed],
                "rows": [_check_row(c, self.state(c)) for c in self.checks]}

    def require(self) -> "Checks":
        if self.failed:
            raise CheckFailed(mask_text(self.headline() + " (see the table above): "
                                        + "; ".join(f"{c.host}: {c.what}" for c in self.failed)))
        return self


def _record(obj: object) -> None:
    """Append what was shown to the run record (for the headless runner's summary)."""
    path = os.environ.get("RUNBOOK_RECORD")
    if path and hasattr(obj, "record"):
        entry = {**obj.record(), "section": os.environ.get("RUNBOOK_SECTION", "")}
        with open(path, "a") as f:
            f.write(mask_text(json.dumps(entry, sort_keys=True)) + "\n")


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


def verify(checks: Checks, run=None) -> None:  # noqa: ANN001 - a context.Run
    """Show the table; raise if anything failed (so papermill stops here).

    With RUN in a plan-only run, a miss on a host the plan would change is
    shown as "to change" and does not stop the run; a miss that applying
    will not fix is shown as a failure and recorded as one (the runner's
    exit code says so), but still does not stop the plan. Returns nothing,
    so a cell ending with it shows the table once."""
    if run is not None and not run.apply:
        show(checks.planned(run.pending_hosts()))
        return
    show(checks)
    checks.require()
