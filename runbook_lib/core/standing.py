"""Where you stand: the summary a notebook shows at the top of its results
and at its end. It follows the run: every plan, apply and check table a
cell shows updates it in place (following.py), so the top cell, shown
before any step ran, ends up saying what the whole notebook found: the
changes to make (or made), the failures, the hosts and files, and the next
step in words."""

from __future__ import annotations

import functools
import html
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..params.secrets import mask_text
from .fold import FOLD_AT, fold, host_list
from .render import folded_checks
from .step import Checks, Report
from .textview import TextShown

if TYPE_CHECKING:
    from .change import Change
    from .context import Run

NEXT_APPLY = ("review the plans below, then set `apply = True` in the parameters cell and Run All, "
              "or use the Apply button under each plan")
NEXT_FIX = "fix the failures (each table's fix column says how), then Run All again"
NEXT_STEPS = ("set `apply = True` in the parameters cell and Run All to run the steps that need it "
              "(listed above)")
NEXT_DONE = "nothing to do in this notebook: go on to the next one"


@functools.lru_cache(maxsize=4096)
def setting_name(what: str) -> str:
    """A setting's short name from an edit's WHAT (an XPath, a block path, a key):
    "/axisconfig/clustering/parameter[@name='domain']" -> "domain"."""
    names = re.findall(r"@name=['\"]([^'\"]+)['\"]", what)
    if names:
        return names[-1]
    tail = what.rstrip("/").rsplit("/", 1)[-1]
    return re.sub(r"\[.*?\]", "", tail).replace(" @", "@").strip() or what


def settings(c: "Change") -> list[str]:
    """The settings a change writes (the file as a whole when it has no edits of its own)."""
    out: list[str] = []
    for e in c.edits:
        if e.changed and e.what != c.path:
            name = setting_name(e.what)
            if name not in out:
                out.append(name)
    return out


def _change_items(changes: list["Change"]) -> list[str]:
    """One line a change: its target and settings; the same file and settings on many hosts
    (fold.py) one line, "HOSTS:path (settings) on N hosts"."""
    def key(c: "Change") -> tuple | None:
        return (c.path, tuple(settings(c))) if c.host_file else None
    out = []
    for c, hosts in fold(changes, lambda c: c.host, key):
        named = settings(c)
        tail = f" ({', '.join(named)})" if named else ""
        out.append(c.target + tail if len(hosts) == 1 else f"{host_list(hosts)}:{c.path}{tail} on {len(hosts)} hosts")
    return out


@dataclass
class Standing:
    """What a run's cells have shown so far, by title (the latest of each)."""

    reports: dict[str, Report] = field(default_factory=dict)
    checks: dict[str, Checks] = field(default_factory=dict)
    needs_apply: list[str] = field(default_factory=list)  # steps left out of a plan-only run

    version: int = 0  # counts what was noted: a Summary's lines are made once per version

    def note(self, obj: object) -> bool:
        if isinstance(obj, Report):
            self.reports[obj.title] = obj
        elif isinstance(obj, Checks) and not obj.information:
            self.checks[obj.title] = obj
        else:
            return False
        self.version += 1
        return True


_SEP = "\n\x1e\n"  # between a summary's strings while they are masked together (a line of its own)


@dataclass(repr=False)
class Summary(TextShown):
    """The summary of one run as it stands (see the module docstring)."""

    run: "Run"
    standing: Standing
    _kept: tuple | None = field(default=None, init=False, compare=False)  # (standing's version, _lines())

    def _changes(self, applied: bool) -> list["Change"]:
        return [c for r in self.standing.reports.values() if r.applied == applied for c in r.changed]

    def _lines(self) -> tuple[str, list[tuple[str, list[str]]], str]:
        """Made once for the standing as it is: a drawing shows the summary as text and as
        HTML in two cells (top and end), and at 128 hosts making the lines is most of it."""
        key = (self.standing.version, len(self.standing.needs_apply))
        if self._kept is None or self._kept[0] != key:
            self._kept = (key, self._make_lines())
        return self._kept[1]

    def _make_lines(self) -> tuple[str, list[tuple[str, list[str]]], str]:
        s, run = self.standing, self.run
        when = f"{run.run_id[:4]}-{run.run_id[4:6]}-{run.run_id[6:8]} {run.run_id[9:11]}:{run.run_id[11:13]} UTC" \
            if len(run.run_id) >= 13 else run.run_id
        head = f"Where you stand: params {run.shown_path}, apply = {run.apply}, run at {when}"
        if not s.reports and not s.checks and not s.needs_apply:
            return head, [("Nothing checked yet", ["this summary fills in as the cells below run"])], ""
        pending, made = self._changes(False), self._changes(True)
        failures = [f"{host}: {what}" for t in s.checks.values() for _, host, what in folded_checks(t, t.failed)]
        named = [c.host for r in s.reports.values() for c in r.changes] + [c.host for t in s.checks.values()
                                                                            for c in t.checks]
        hosts = sorted({h.strip() for n in named for h in n.split(",") if h.strip()})  # a check may name several
        files = {c.target for r in s.reports.values() for c in r.changes}
        groups = []
        for label, changes in ((f"Changes to make ({len(pending)})", pending), (f"Changes made ({len(made)})", made)):
            if changes:
                groups.append((label, _change_items(changes)))
        if not pending and not made and s.reports:
            groups.append(("Changes", ["none: every target already as intended"]))
        if s.needs_apply:
            groups.append((f"Needs apply = True, not run ({len(s.needs_apply)})", list(s.needs_apply)))
        n_failed = sum(len(t.failed) for t in s.checks.values())  # checks, not lines: a line may fold many hosts
        groups.append((f"Failures ({n_failed})", failures or ["none"]))
        n_checks = sum(len(t.checks) for t in s.checks.values())
        named_hosts = host_list(hosts) if len(hosts) >= FOLD_AT else ", ".join(hosts)
        groups.append(("Looked at", [f"{len(hosts)} hosts ({named_hosts}), "
                                     + (f"{len(files)} files or objects planned, " if files else "")
                                     + f"{n_checks} checks"]))
        nxt = NEXT_FIX if failures else NEXT_APPLY if pending else NEXT_STEPS if s.needs_apply else NEXT_DONE
        return head, groups, nxt

    def text(self) -> str:
        head, groups, nxt = self._lines()
        out = [head]
        for label, items in groups:
            out.append(f"{label}:" + ("" if len(items) > 1 else f" {items[0]}"))
            if len(items) > 1:
                out += [f"  - {x}" for x in items]
        if nxt:
            out.append(f"Next step: {nxt}")
        return mask_text("\n".join(out))

    def _masked_lines(self) -> tuple[str, list[tuple[str, list[str]]], str]:
        """_lines() with every string masked, in one pass over them all (the summary is
        drawn again at every step, so masking each line on its own was a kernel's main cost)."""
        head, groups, nxt = self._lines()
        flat = [head, nxt] + [x for label, items in groups for x in (label, *items)]
        out = iter(mask_text(_SEP.join(flat)).split(_SEP))
        head, nxt = next(out), next(out)
        return head, [(next(out), [next(out) for _ in items]) for _, items in groups], nxt

    def _repr_html_(self) -> str:
        head, groups, nxt = self._masked_lines()
        e = html.escape
        bad = any(label.startswith("Failures") and items != ["none"] for label, items in groups)
        color = "#cf222e" if bad else "#9a6700" if nxt in (NEXT_APPLY, NEXT_STEPS) else "#1a7f37"
        parts = [f"<div class='runbook-summary' style='border-left:4px solid {color};padding:4px 8px;"
                 f"background:#f6f8fa;text-align:left'><b>{e(head)}</b>"]
        for label, items in groups:  # as the text reads: "Label: item", or the label over a list
            if len(items) == 1:
                parts.append(f"<div><b>{e(label)}:</b> {e(items[0])}</div>")
            else:
                parts.append(f"<div><b>{e(label)}:</b><ul style='margin:0;padding-left:20px'>"
                             + "".join(f"<li>{e(x)}</li>" for x in items) + "</ul></div>")
        if nxt:
            parts.append(f"<div><b>Next step:</b> {e(nxt)}</div>")
        return "".join(parts) + "</div>"
