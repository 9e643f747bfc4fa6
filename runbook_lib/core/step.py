"""The step model: plan, apply, verify.

A ``Plan`` is a list of named operations, each a function ``dry_run -> Change``.
``preview()`` runs them all with ``dry_run=True`` (the same code as a real
run, minus the writes); ``apply()`` runs them for real. ``Checks`` are the
verification: expected vs found on the live hosts; a failed check raises
``CheckFailed``. How they look is render.py, what notebook cells call is
cells.py, the run record is recorder.py.
"""

from __future__ import annotations

from contextlib import nullcontext
from dataclasses import dataclass, field, replace
from typing import Any, Callable, ContextManager, Generic, TypeVar

from ..params.secrets import mask_text
from ..remote import fanout
from . import render
from .binding import Drift, differences
from .change import Change
from .errors import CheckFailed, RunbookError
from .redact import check_values
from .textview import TextShown

OpFn = Callable[[bool], Change]
T = TypeVar("T")


@dataclass(frozen=True)
class Operation:
    target: str
    fn: OpFn
    # the host it works on (or another key, e.g. a database): operations of different
    # keys run concurrently, those of one key in order; None: in order with the other Nones
    host: str | None = None
    on: str | None = None  # the host its change is made on, when HOST is not one (a database object: its host)
    path: str = ""  # the file, folder or service on that host, when the change does not name one itself
    # The files FN reads on its host (not as root), and that host (a remote Host): a preview reads
    # the files of all a host's operations in one command (Host.prefetched), not one by one.
    reads: tuple[str, ...] = ()
    reader: Any = None

    def run(self, dry_run: bool) -> Change:
        try:
            change = self.fn(dry_run)
        except RunbookError as e:
            if self.target not in str(e):  # name the host and file, e.g. for a parse error deep inside
                _amend(e, prefix=f"{self.target}: ")
            raise
        except Exception as e:  # a fault in one operation names it
            raise RunbookError(f"{self.target}: {type(e).__name__}: {e}") from e
        if change.host and change.path:
            return change
        return replace(change, host=change.host or self.on or self.host or "", path=change.path or self.path)


class Carried(Generic[T]):
    """What an operation's preview read (a file's bytes, a keystore, a jar's
    checksum), handed to the apply that follows it: what is written is what
    the plan showed, and it is not fetched again. An apply with no preview
    before it, and any later call, reads for itself. One per operation (an
    operation's calls run in order on its host's thread)."""

    def __init__(self, read: Callable[[], T]) -> None:
        self._read, self._kept = read, []  # type: Callable[[], T], list[T]

    def get(self, dry_run: bool) -> T:
        value = self._kept.pop() if self._kept and not dry_run else self._read()
        self._kept.clear()
        if dry_run:
            self._kept.append(value)
        return value


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
        return render.report_text(self)

    def _repr_html_(self) -> str:
        return render.report_html(self)


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
        self.stopped: Report | None = None  # what the last apply() changed before an error stopped it

    def _run(self, dry_run: bool) -> list[fanout.Result[Change]]:
        """Each host's operations in order, hosts concurrently (fanout.by_host);
        results in the plan's order. Applying, a host stops at its first
        failure (its later operations are not attempted); the other hosts carry
        on, so one host's failure never hides the others'."""
        if self.before is not None:
            self.before()
        try:
            return fanout.by_host(self.operations, lambda op: op.host, lambda op: op.run(dry_run),
                                  label=self.title, stop_on_error=not dry_run,
                                  around=self._prefetch() if dry_run or self.last_preview is None else None)
        finally:
            if self.after is not None:
                self.after()

    def _prefetch(self) -> Callable[[str | None], ContextManager[object]] | None:
        """Each host's declared reads, fetched in one command before its operations run
        (an apply after a preview has them already: Carried)."""
        reads: dict[str | None, tuple[Any, list[str]]] = {}
        for op in self.operations:
            if op.reads and op.reader is not None:
                reads.setdefault(op.host, (op.reader, []))[1].extend(op.reads)
        if not reads:
            return None
        return lambda host: reads[host][0].prefetched(reads[host][1]) if host in reads else nullcontext()

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
        """Apply every operation. On an error, ``stopped`` is the Report of
        what was changed before it (the apply cell shows it above the error)."""
        self.stopped = None
        results = self._run(dry_run=False)
        done = [r.value for r in results if r.ok]
        failed, others = self._failures(results)
        if failed:
            op, e = failed[0]
            # Say what happened to every other target, and keep the changes already made to show.
            self.stopped = Report(f"{self.title} (stopped by the error below)", True, done)  # type: ignore[arg-type]
            rest = [o for o, r in zip(self.operations, results) if isinstance(r.error, fanout.NotAttempted)]
            if isinstance(e, RunbookError):
                _amend(e, suffix=others + "\n" + _stopped(self.title, op, done, rest))  # type: ignore[arg-type]
            raise e
        return Report(self.title, True, done)  # type: ignore[arg-type]

    def apply_reviewed(self, reviewed: Report) -> "Report | tuple[Drift, Report]":
        """Apply exactly the plan REVIEWED (binding.py): make the plan again from
        the targets as they are now; if any target's content or planned writes
        differ, write nothing and return the Drift with the new plan. Else apply
        (the operations write from the bytes just compared)."""
        now = self.preview()
        drift = differences(reviewed, now)
        if drift:
            return Drift(self.title, drift), now
        return self.apply()


@dataclass(frozen=True)
class Check:
    host: str
    what: str
    expected: str
    found: str
    ok: bool
    fix: str = ""
    via: tuple[str, ...] = ()  # other hosts whose state this check reads (e.g. the database host)

    def __post_init__(self) -> None:
        # A check of a secret keeps only fingerprints (redact.py): no table, record or repr shows the value.
        expected, found = check_values(self.what, self.expected, self.found)
        object.__setattr__(self, "expected", expected)
        object.__setattr__(self, "found", found)


class Checks(TextShown):
    """A verification table. ``require()`` raises when any check failed.

    After an apply every miss is a failure. In a plan-only run (``planned``)
    a miss on a host with changes still to apply is "to change": the plan
    shown above makes it, and an applied run verifies it. A miss on a host
    with nothing to apply is a failure either way, since applying will not
    reach the value."""

    information = False  # a table shown for information: recorded as up/down, never as failed checks

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
        return render.checks_text(self)

    def _repr_html_(self) -> str:
        return render.checks_html(self)

    def require(self) -> "Checks":
        if self.failed:
            raise CheckFailed(mask_text(self.headline() + " (see the table above): "
                                        + "; ".join(f"{c.host}: {c.what}" for c in self.failed)))
        return self
