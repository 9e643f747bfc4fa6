"""Where you stand, kept up to date: the summary cells a notebook shows
(standing.py says what they say) follow every plan, apply and check table
its cells report. Each notebook has its own, and each is drawn again at most
once a second while a cell runs and always when the cell ends: a drawing
masks the whole summary, which grows with the hosts (issue 23)."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .standing import Standing, Summary
from .widgets import Shown, in_ipython

if TYPE_CHECKING:
    from .context import Run


@dataclass
class _Following:
    """One notebook's summary cells and what its cells have shown so far."""

    standing: Standing
    shown: list[Shown]
    dirty: bool = False
    drawn: float = 0.0  # time.monotonic() of the last drawing


# By run id and section: a headless run executes every section in one kernel under one run id
# (kernels.py), and each notebook's summary says what that notebook found, not the run's so far.
_summaries: dict[tuple[str, str], _Following] = {}
REDRAW_EVERY = 1.0  # seconds: a long cell's summary still moves; each drawing masks the whole summary


def following(run: "Run") -> _Following:
    key = (getattr(run, "run_id", "") or str(id(run)), os.environ.get("RUNBOOK_SECTION", ""))
    if key not in _summaries:
        _summaries[key] = _Following(Standing(), [])
        _redraw_after_each_cell()
    return _summaries[key]


def _draw(run: "Run", f: _Following) -> None:
    f.dirty, f.drawn = False, time.monotonic()
    if f.shown:
        latest = Summary(run, f.standing)
        for s in f.shown:
            s.update(latest)


def _changed(run: "Run", f: _Following) -> None:
    """The standing changed: redraw now if the last drawing is older than REDRAW_EVERY, else when
    the cell ends (each drawing masks the whole summary, which grows with the hosts: drawing it
    at every step made a run's cost grow with steps x hosts, issue 23)."""
    f.dirty = True
    if time.monotonic() - f.drawn >= REDRAW_EVERY:
        _draw(run, f)
    else:
        _pending[id(f)] = (run, f)


_pending: dict[int, tuple["Run", _Following]] = {}
_hooked = False


def flush() -> None:
    """Draw every summary left behind by the throttle (IPython calls it after each cell)."""
    while _pending:
        _, (run, f) = _pending.popitem()
        if f.dirty:
            _draw(run, f)


def _redraw_after_each_cell() -> None:
    global _hooked
    if _hooked or not in_ipython():
        return
    from IPython import get_ipython
    get_ipython().events.register("post_run_cell", lambda *_: flush())
    _hooked = True


def summary(run: "Run") -> None:
    """The summary cell (top of the results and end of a notebook): where the run stands,
    updated in place as the cells after it run."""
    f = following(run)
    if in_ipython():
        f.shown.append(Shown(Summary(run, f.standing)))
    else:
        print(Summary(run, f.standing).text())


def note_needs_apply(run: "Run", title: str) -> None:
    """A step a plan-only run leaves out because it needs apply = True (08 starts,
    stops and deploys): the summary lists it."""
    f = following(run)
    if title not in f.standing.needs_apply:
        f.standing.needs_apply.append(title)
        _changed(run, f)


def follow(obj: object, run: "Run | None") -> None:
    if run is None:
        return
    f = following(run)
    if f.standing.note(obj):
        _changed(run, f)
