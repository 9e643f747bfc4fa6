"""Per-host work run concurrently: the one fan-out every step uses.

Work items are grouped by host. Groups run in parallel (at most ``bound()``
at once, from ``ssh.parallel`` in the params); the items of one host run one
after another, in their order, so a host's SSH connection and files are never
used by two threads at once and what a step does on one host stays in the
order the step wrote it. Results come back in the items' order, whatever
finished first; an item's exception is kept with its result and never stops
another host's work.

While a long step runs, ``progress`` says which hosts are done: in JupyterLab
a line that updates in place and is cleared at the end (never part of the
saved output), headless as lines appended to the file named by
RUNBOOK_PROGRESS, which ``runbook run`` prints (never into the executed
notebook, so recorded outputs do not vary run to run).
"""

from __future__ import annotations

import html
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor, wait
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Callable, ContextManager, Generic, Sequence, TypeVar

T = TypeVar("T")
R = TypeVar("R")

DEFAULT_PARALLEL = 16  # hosts at once: SSH work is I/O-bound; 16 keeps a 2-core machine busy
_parallel = DEFAULT_PARALLEL


def configure(parallel: int | None) -> None:
    """Set the bound for this process (``open_run`` calls it from ``ssh.parallel``)."""
    global _parallel
    _parallel = max(1, int(parallel or DEFAULT_PARALLEL))


def bound() -> int:
    return _parallel


class NotAttempted(Exception):
    """An item skipped because an earlier item of its host failed (stop_on_error)."""


@dataclass(frozen=True)
class Result(Generic[R]):
    """One item's outcome: its value, or the exception it raised."""

    value: R | None = None
    error: BaseException | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    def get(self) -> R:
        if self.error is not None:
            raise self.error
        return self.value  # type: ignore[return-value]


def by_host(items: Sequence[T], host_of: Callable[[T], str | None], fn: Callable[[T], R],
            label: str = "", stop_on_error: bool = False,
            around: Callable[[str | None], ContextManager[object]] | None = None) -> list[Result[R]]:
    """FN for each item, concurrently across hosts, serially within a host.
    Items whose host is None run together in one group (work that is not a
    host's, e.g. SQL on one database connection). Results in item order.
    STOP_ON_ERROR: after a host's item fails, its later items are not run
    (their result is NotAttempted); the other hosts carry on. AROUND: a
    context each host's items run in (e.g. Host.prefetched); its own failure
    is every item's of that host."""
    groups: dict[str | None, list[int]] = {}
    for i, item in enumerate(items):
        groups.setdefault(host_of(item), []).append(i)
    results: list[Result[R] | None] = [None] * len(items)
    tracker = Progress(label, [g for g in groups if g is not None]) if label and len(groups) > 1 else None

    def run_group(host: str | None, idx: list[int]) -> None:
        try:
            with around(host) if around is not None else nullcontext():
                run_items(idx)
        except BaseException as e:  # the context failed to open or to close: items without a result share it
            for i in idx:
                results[i] = results[i] or Result(error=e)
        if tracker and host is not None:
            tracker.done(host)

    def run_items(idx: list[int]) -> None:
        failed = False
        for i in idx:
            if failed:
                results[i] = Result(error=NotAttempted())
                continue
            try:
                results[i] = Result(fn(items[i]))
            except BaseException as e:  # kept with the item, raised by the caller in order
                results[i] = Result(error=e)
                failed = stop_on_error

    if len(groups) <= 1 or _parallel == 1:
        for host, idx in groups.items():
            run_group(host, idx)
    else:
        with ThreadPoolExecutor(max_workers=min(_parallel, len(groups))) as pool:
            pending = {pool.submit(run_group, h, idx) for h, idx in groups.items()}
            while pending:  # progress is shown from this (the cell's) thread, twice a second
                # (not at each host's end: every wait hangs a waiter on each pending future,
                # so a wake-up per host was 129 x 129 of them per step at 128 workers)
                _, pending = wait(pending, timeout=0.5)
                if tracker:
                    tracker.tick()
    if tracker:
        tracker.finish()
    return results  # type: ignore[return-value]


def map_hosts(items: Sequence[T], host_of: Callable[[T], str | None], fn: Callable[[T], list[R]],
              label: str = "") -> list[R]:
    """FN's lists concatenated in item order; the first error (in item order)
    is raised only after every host has finished."""
    out: list[R] = []
    for r in by_host(items, host_of, fn, label):
        out.extend(r.get())
    return out


class Progress:
    """Which hosts are done, while a step runs. Quiet for quick steps."""

    DELAY = 1.0  # seconds before the first line: short steps show nothing

    def __init__(self, label: str, hosts: list[str]) -> None:
        self.label, self.total, self.finished = label, len(hosts), []  # type: list[str]
        self.t0, self.lock, self.handle, self.shown = time.monotonic(), threading.Lock(), None, 0
        self.file = os.environ.get("RUNBOOK_PROGRESS") if os.environ.get("RUNBOOK_HEADLESS") == "1" else None

    def line(self) -> str:
        last = ", ".join(self.finished[-4:])
        return f"{self.label}: {len(self.finished)}/{self.total} hosts done ({last}{', ...' if len(self.finished) > 4 else ''})"

    def done(self, host: str) -> None:
        with self.lock:
            self.finished.append(host)

    def tick(self) -> None:
        with self.lock:
            n = len(self.finished)
            if n == self.shown or time.monotonic() - self.t0 < self.DELAY:
                return
            self.shown = n
            text = self.line()
        self._emit(text)

    def finish(self) -> None:
        if self.handle is not None:  # JupyterLab: clear the line, so saved outputs never hold it
            self.handle.update(_Blank())
        elif self.file and time.monotonic() - self.t0 >= self.DELAY:
            self._append(f"{self.label}: all {self.total} hosts done in {time.monotonic() - self.t0:.1f}s")

    def _emit(self, text: str) -> None:
        if self.file:
            self._append(text)
            return
        if os.environ.get("RUNBOOK_HEADLESS") == "1":
            return
        try:  # IPython only in a notebook's kernel; headless and CLI runs have none to show to
            from IPython import get_ipython
            from IPython.display import display
        except ImportError:
            return
        if get_ipython() is None:
            return
        if self.handle is None:
            self.handle = display(_Line(text), display_id=True)
        else:
            self.handle.update(_Line(text))

    def _append(self, text: str) -> None:
        try:
            with open(self.file, "a") as f:  # type: ignore[arg-type]
                f.write(text + "\n")
        except OSError:
            pass


class _Line:
    def __init__(self, text: str) -> None:
        self.text = text

    def _repr_pretty_(self, p, cycle) -> None:  # noqa: ANN001
        p.text(self.text)

    def _repr_html_(self) -> str:
        return f"<i style='color:#57606a'>{html.escape(self.text)}</i>"


class _Blank:
    def _repr_pretty_(self, p, cycle) -> None:  # noqa: ANN001
        p.text("")

    def _repr_html_(self) -> str:
        return ""
