"""An Apply is bound to the plan the operator reviewed.

A plan (step.Report) records, for each target, what it read (the content
hash of the file's bytes, change.content_hash) and the values it would
write (its changed edits, its diff, its commands). Before an Apply writes
anything, the plan is made again from the targets as they are now
(step.Plan.apply_reviewed) and compared with the reviewed one here: any
difference and nothing is written; ``Drift`` says what changed and the new
plan is shown for a new decision. The same idea as Terraform's saved plan
(``terraform apply PLANFILE`` refuses a plan whose state moved on).
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Any

from ..params.secrets import mask_text
from .change import Change
from .textview import TextShown

Report = Any  # step.Report (step.py imports this module)


def _writes(c: Change) -> tuple:
    """What the plan would write to C's target: the changed edits' values, the diff, the commands."""
    edits = tuple((e.what, e.before, e.after) for e in c.edits if e.changed)
    return (c.changed, edits, c.diff, c.commands, "" if c.edits or c.diff else c.summary)


def _edit_lines(c: Change) -> set[str]:
    return {e.text for e in c.edits if e.changed} if c.edits else ({c.summary} if c.changed else set())


def differences(reviewed: Report, now: Report) -> list[str]:
    """One line per target whose content or planned writes differ between REVIEWED and NOW."""
    old = {c.target: c for c in reviewed.changes}
    new = {c.target: c for c in now.changes}
    out = []
    for target, c in new.items():
        before = old.get(target)
        if before is None:
            out.append(f"{target}: not in the reviewed plan; now: {c.summary}")
            continue
        read_moved = bool(before.read and c.read and before.read != c.read)
        if not read_moved and _writes(before) == _writes(c):
            continue
        was, now_ = _edit_lines(before), _edit_lines(c)
        what = [f"now also: {t}" for t in sorted(now_ - was)] + [f"no longer: {t}" for t in sorted(was - now_)]
        if not c.changed:
            what = ["now already as intended: nothing to write"]
        head = f"{target}: changed since the plan was shown" + (f" ({before.read} -> {c.read})" if read_moved else "")
        out.append(head + ("; " + "; ".join(what) if what else "; the values to write are the same, the rest of "
                           "the file differs"))
    out += [f"{t}: in the reviewed plan, no longer planned" for t in old if t not in new]
    return out


@dataclass(repr=False)
class Drift(TextShown):
    """An Apply that wrote nothing because its targets changed since the plan was shown."""

    title: str
    lines: list[str] = field(default_factory=list)
    again: str = "The new plan is below: review it, then click its Apply button."

    def text(self) -> str:
        return mask_text(f"{self.title}: NOT applied, nothing was written: the targets changed since the plan "
                         "you reviewed.\n" + "\n".join(f"  - {x}" for x in self.lines) + f"\n{self.again}")

    def _repr_html_(self) -> str:
        items = "".join(f"<li>{html.escape(mask_text(x))}</li>" for x in self.lines)
        return ("<div class='runbook-drift' style='border-left:4px solid #cf222e;background:#ffebe9;padding:6px'>"
                f"<b>{html.escape(mask_text(self.title))}: NOT applied, nothing was written</b>: the targets "
                f"changed since the plan you reviewed.<ul style='margin:4px 0'>{items}</ul>"
                f"{html.escape(self.again)}</div>")
