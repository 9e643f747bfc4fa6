"""What a notebook's cells call: every step is plan -> apply -> checks.

``preview(plan, run)`` shows what will change (the diffs); ``apply(plan,
run)`` makes it when the notebook's ``apply`` parameter is true, else says
so (and, in JupyterLab only, offers an Apply button bound to the plan just
shown, binding.py); ``verify(checks, run)`` shows expected vs found, each
miss with its fix, and stops the notebook at a failure; ``summary(run)``
shows where the run stands (standing.py). Each hands what it shows to the
run's recorder (recorder.py); ``show`` only displays.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from ..params.secrets import mask_text
from .errors import RunbookError
from .following import flush, follow, following
from .step import Checks, Plan, Report
from .textview import TextShown
from .widgets import Shown, Superseded, apply_button, cell_source, in_ipython, run_source

if TYPE_CHECKING:
    from .context import Run


def headless() -> bool:
    """True under the runner, nbval and tests: never offer a button there."""
    return os.environ.get("RUNBOOK_HEADLESS") == "1"


def show(obj: object) -> None:
    """Display in Jupyter (text and HTML), print elsewhere."""
    if in_ipython():
        from IPython.display import display
        display(obj)
        return
    print(obj.text() if hasattr(obj, "text") else mask_text(str(obj)))


# --- what a cell shows, recorded and followed by the summary cells (following.py) -----------------

def report(obj: object, run: "Run | None") -> None:
    """Record OBJ in the run's record (when there is a run), then show it."""
    if run is not None:
        run.recorder.add(obj)
    show(obj)
    follow(obj, run)


# --- plan, apply, verify ----------------------------------------------------------------------------

# JupyterLab only: the plan each step last showed in a plan-only run of this kernel
# (an apply = True run that follows applies it only if the targets still match), and
# the Apply offer the latest apply cell made (the verify cell after it attaches to it).
_reviewed: dict[str, Report] = {}
_offer: "Offer | None" = None
_again = False  # an Apply button is running its verification cell again


def preview(plan: Plan, run: "Run") -> None:
    """The plan cell: what the step will change, with the diffs; nothing is written."""
    global _offer
    _offer = None
    shown = plan.preview()
    report(shown, run)
    if not run.apply and not headless() and shown.changed:
        _reviewed[plan.title] = shown


def _apply_now(plan: Plan, run: "Run") -> Report:
    try:
        done = plan.apply()
    except BaseException:
        if plan.stopped is not None:  # what the step changed before the error, shown above it
            report(plan.stopped, run)
        raise
    _show_applied(done, run)
    return done


def _show_applied(done: Report, run: "Run") -> None:
    if done.changed:
        report(done, run)
    else:  # the plan cell above already said "no changes": say it once, record it all the same
        run.recorder.add(done)
        show(Nothing(done.title))
        follow(done, run)


@dataclass(frozen=True, repr=False)
class Skipped(TextShown):
    title: str

    def text(self) -> str:
        return (f"{self.title}: not applied (apply=False). Set apply = True in the parameters cell and "
                "Run All to make these changes" + ("" if headless() else ", or click Apply below") + ".")


@dataclass(frozen=True, repr=False)
class Nothing(TextShown):
    title: str

    def text(self) -> str:
        return f"{self.title}: nothing to apply."


class PlanChanged(RunbookError):
    """apply = True after a reviewed plan-only run, and the targets changed since."""


def apply(plan: Plan, run: "Run") -> None:
    """The apply cell: applies when ``run.apply`` is true and shows what
    changed. Otherwise says so and, in JupyterLab only, offers an Apply
    button bound to the plan just shown; nothing ever waits for a click.
    No changes: "nothing to apply", and no button."""
    global _offer
    shown = plan.last_preview
    if run.apply:
        reviewed = None if headless() else _reviewed.pop(plan.title, None)
        if reviewed is None:
            _apply_now(plan, run)
            return
        outcome = plan.apply_reviewed(reviewed)
        if isinstance(outcome, tuple) and not outcome[1].changed:  # since made by hand or another Apply
            show(Nothing(plan.title))
            follow(outcome[1], run)
            return
        if isinstance(outcome, tuple):
            drift, now = outcome
            drift.again = ("The new plan is below; nothing was written. Review it, then run this cell again "
                           "to apply it.")
            show(drift)
            report(now, run)
            if now.changed:
                _reviewed[plan.title] = now
            raise PlanChanged(f"{plan.title}: not applied: the targets changed since the plan you reviewed "
                              "earlier in this kernel", fix="review the new plan shown above, then run this cell "
                              "again to apply it")
        _show_applied(outcome, run)
        return
    if shown is None or not shown.changed:
        show(Nothing(plan.title))
        return
    run.note_pending(shown.changed)
    if headless():
        show(Skipped(plan.title))
        return
    _offer = Offer(plan, run, shown, Shown(Skipped(plan.title)))
    _offer.button()


def require(checks: Checks, run: "Run | None") -> None:
    """A gate: show the table and raise at any miss, in a plan-only run too
    (00's preflight, the start commands 05 and 06 record)."""
    report(checks, run)
    checks.require()


def verify(checks: Checks, run: "Run | None" = None) -> None:
    """The checks cell: show the table; raise if anything failed (so papermill stops here).

    With RUN in a plan-only run, a miss on a host the plan would change is
    shown as "to change" and does not stop the run; a miss that applying
    will not fix is shown as a failure and recorded as one (the runner's
    exit code says so), but still does not stop the plan. In JupyterLab the
    table is tied to the Apply offered above it: an Apply marks it
    superseded and runs this cell again under the button. Returns nothing,
    so a cell ending with it shows the table once."""
    global _offer
    if run is not None and not run.apply and _again:  # under an Apply button, after it applied
        pending = run.pending_hosts()
        report(checks.planned(pending) if pending else checks, run)
        return
    if run is not None and not run.apply:
        planned = checks.planned(run.pending_hosts())
        run.recorder.add(planned)
        offer, _offer = _offer, None
        if offer is not None and offer.verify_source is None and in_ipython():
            offer.verify_source, offer.verify_shown = cell_source(), Shown(planned)
        else:
            show(planned)
        follow(planned, run)
        return
    report(checks, run)
    checks.require()


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%H:%M:%S UTC")


class Offer:
    """An Apply button bound to the plan REVIEWED (JupyterLab only)."""

    def __init__(self, plan: Plan, run: "Run", reviewed: Report, skipped: Shown) -> None:
        self.plan, self.run, self.reviewed, self.skipped = plan, run, reviewed, skipped
        self.verify_source: str | None = None
        self.verify_shown: Shown | None = None

    def button(self) -> None:
        apply_button(self.plan.title, self.click)

    def click(self) -> None:
        """Re-read the targets; apply only if they are as reviewed, else show what changed and the new plan."""
        try:
            self._click()
        finally:
            flush()  # a button's callback is not a cell: no post_run_cell draws the summary after it

    def _click(self) -> None:
        outcome = self.plan.apply_reviewed(self.reviewed)
        if isinstance(outcome, tuple):
            drift, now = outcome
            show(drift)
            report(now, self.run)
            if now.changed:
                again = Offer(self.plan, self.run, now, self.skipped)
                again.verify_source, again.verify_shown = self.verify_source, self.verify_shown
                again.button()
            else:
                show(Nothing(self.plan.title))
            return
        done = outcome
        _reviewed.pop(self.plan.title, None)  # applied: a later apply = True run starts afresh
        self.skipped.update(Superseded(self.skipped.obj, f"applied with the Apply button below at {_now()}"))
        report(done, self.run)
        applied = {c.host for c in done.changes if c.host}
        self.run.pending -= applied - _still_pending(self.run, self.plan.title)
        if self.verify_shown is not None:
            self.verify_shown.update(Superseded(self.verify_shown.obj, "the plan was applied at "
                                                f"{_now()}; verified again under the Apply button above"))
        if self.verify_source and "verify(" in self.verify_source and "apply(" not in self.verify_source:
            global _again
            _again = True
            try:
                run_source(self.verify_source)
            finally:
                _again = False


def _still_pending(run: "Run", applied_title: str) -> set[str]:
    """Hosts with changes another plan of this run showed and did not apply."""
    return {c.host for title, r in following(run).standing.reports.items()
            if title != applied_title and not r.applied for c in r.changed if c.host}
