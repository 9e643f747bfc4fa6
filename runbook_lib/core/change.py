"""The Change record: what an operation did, or would do.

Every operation returns one. A no-op is ``Change(target, changed=False,
summary="... already ...")``. Its text form is deterministic so nbval can
compare notebook outputs between runs.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from functools import lru_cache


@dataclass(frozen=True)
class Change:
    target: str
    changed: bool
    summary: str
    diff: str = ""
    commands: tuple[str, ...] = field(default_factory=tuple)

    def __str__(self) -> str:
        mark = "CHANGE" if self.changed else "ok    "
        return f"[{mark}] {self.target}: {self.summary}"


@lru_cache(maxsize=128)
def unified_diff(before: str | bytes, after: str | bytes, name: str) -> str:
    """A unified diff of two texts, labelled a/NAME and b/NAME like git.
    Remembered: a step diffs the same bytes when it plans, again when it
    applies, and the edit's result and the write each ask for it."""
    if isinstance(before, bytes):
        before = before.decode("utf-8", errors="replace")
    if isinstance(after, bytes):
        after = after.decode("utf-8", errors="replace")
    lines = difflib.unified_diff(
        before.splitlines(keepends=True),
        after.splitlines(keepends=True),
        fromfile=f"a/{name.lstrip('/')}",
        tofile=f"b/{name.lstrip('/')}",
    )
    out = []
    for line in lines:
        out.append(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n")
    return "".join(out)
