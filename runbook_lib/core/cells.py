"""What a notebook's cells call: every step is plan -> apply -> checks.

``preview(plan, run)`` shows what will change (the diffs); ``apply(plan,
run)`` makes it when the notebook's ``apply`` parameter is true, else says
so (and, in JupyterLab only, offers an Apply button); ``verify(checks,
run)`` shows expected vs found, each miss with its fix, and stops the
notebook at a failure. Each hands what it shows to the run's recorder
(recorder.py); ``show`` only displays.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..params.secrets import mask_text
from .step import Checks, Plan
from .textview import TextShown
from .widgets import apply_button

if TYPE_CHECKING:
    from .context import Run


def headless() -> bool:
    """True under the runner, nbval and tests: never offer a button there."""
    return os.environ.get("RUNBOOK_HEADLESS") == "1"


def show(obj: object) -> None:
    """Display in Jupyter (text and HTML), print elsewhere."""
    try:
        from IPython import get_ipython
        from IPython.display import display
        if get_ipython() is not None:
            display(obj)
            return
    except ImportError:
        pass
    print(obj.text() if hasattr(obj, "text") else mask_text(str(obj)))


def report(obj: object, run: "Run | None") -> None:
    """Record OBJ in the run's record (when there is a run), then show it."""
    if run is not None:
        run.recorder.add(obj)
    show(obj)


def preview(plan: Plan, run: "Run") -> None:
    """The plan cell: what the step will change, with the diffs; nothing is written."""
    report(plan.preview(), run)


def _apply_now(plan: Plan, run: "Run") -> None:
    try:
        done = plan.apply()
    except BaseException:
        if plan.stopped is not None:  # what the step changed before the error, shown above it
            report(plan.stopped, run)
        raise
    report(done, run)


@dataclass(frozen=True, repr=False)
class Skipped(TextShown):
    title: str

    def text(self) -> str:
        return f"{self.title}: not applied (apply=False). Re-run with apply=True to make these changes."


def apply(plan: Plan, run: "Run") -> None:
    """The apply cell: applies when ``run.apply`` is true and shows what
    changed. Otherwise says so and, in JupyterLab only, offers an Apply
    button for the plan just shown; nothing ever waits for a click."""
    if run.apply:
        _apply_now(plan, run)
        return
    if plan.last_preview is not None:
        run.note_pending(plan.last_preview.changed)
    show(Skipped(plan.title))
    if not headless():
        apply_button(plan.title, lambda: _apply_now(plan, run))


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
    exit code says so), but still does not stop the plan. Returns nothing,
    so a cell ending with it shows the table once."""
    if run is not None and not run.apply:
        report(checks.planned(run.pending_hosts()), run)
        return
    report(checks, run)
    checks.require()
