"""What every configedit applier returns, plus small byte helpers they share."""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Generic, Hashable, TypeVar

from runbook_lib.core.change import EditNote, unified_diff


@dataclass(frozen=True)
class EditResult:
    """New bytes, whether they differ, the real diff, and what each edit did.

    ``diff`` is computed from the actual before/after bytes, never from a
    re-serialisation, so what the operator reads is what gets written.
    """

    data: bytes
    changed: bool
    diff: str
    notes: list[EditNote] = field(default_factory=list)

    @property
    def texts(self) -> list[str]:
        """Each note as the plan reads it."""
        return [n.text for n in self.notes]

    @property
    def summary(self) -> str:
        return "; ".join(n.text for n in self.notes) if self.notes else "nothing to do"


T = TypeVar("T")


class Memo(Generic[T]):
    """The last SIZE results by key, shared by threads (values must be immutable)."""

    def __init__(self, size: int) -> None:
        self.size, self.items, self.lock = size, OrderedDict(), threading.Lock()  # type: int, OrderedDict, threading.Lock

    def get(self, key: Hashable) -> T | None:
        with self.lock:
            value = self.items.get(key)
            if value is not None:
                self.items.move_to_end(key)
            return value

    def put(self, key: Hashable, value: T) -> T:
        with self.lock:
            self.items[key] = value
            if len(self.items) > self.size:
                self.items.popitem(last=False)
        return value


def make_result(before: bytes, after: bytes, name: str, notes: list[EditNote]) -> EditResult:
    """Build an EditResult; ``changed`` is byte inequality, the only honest test."""
    changed = before != after
    return EditResult(after, changed, unified_diff(before, after, name) if changed else "", notes)


def newline_of(data: bytes | str) -> str:
    """The file's line ending: CRLF if any line uses it, else LF."""
    crlf = b"\r\n" if isinstance(data, bytes) else "\r\n"
    return "\r\n" if crlf in data else "\n"


def line_no(data: bytes | str, offset: int) -> int:
    """1-based line number of a byte/char offset (for notes and errors)."""
    nl = b"\n" if isinstance(data, bytes) else "\n"
    return data.count(nl, 0, offset) + 1


def line_start(data: bytes | str, offset: int) -> int:
    """Offset of the first character of the line holding ``offset``."""
    nl = b"\n" if isinstance(data, bytes) else "\n"
    return data.rfind(nl, 0, offset) + 1


def line_end(data: bytes | str, offset: int) -> int:
    """Offset of the line terminator (``\\r\\n`` or ``\\n``) after ``offset``, or len."""
    nl = b"\n" if isinstance(data, bytes) else "\n"
    end = data.find(nl, offset)
    if end < 0:
        return len(data)
    cr = b"\r"[0] if isinstance(data, bytes) else "\r"
    return end - 1 if end > 0 and data[end - 1] == cr else end


def indent_before(data: bytes | str, offset: int) -> bytes | str | None:
    """Whitespace from line start to ``offset``, or None if other text precedes it."""
    head = data[line_start(data, offset):offset]
    return head if head.strip() == head[:0] else None


def whole_lines(data: bytes | str, start: int, end: int) -> tuple[int, int]:
    """Widen [start, end) to whole lines (with the newline) when it is alone on them."""
    ls = line_start(data, start)
    le = line_end(data, end)
    empty = data[:0]
    if data[ls:start].strip() == empty and data[end:le].strip() == empty:
        nl = b"\n" if isinstance(data, bytes) else "\n"
        stop = data.find(nl, end)
        return ls, (len(data) if stop < 0 else stop + 1)
    return start, end
