"""One finding of the consistency report (consistency.py): what, where, and what the
runbook would do about it. The round trip (roundtrip.py) accepts a difference in
the plan only when an item names its host and file."""

from __future__ import annotations

from dataclasses import dataclass

from .found import Found


@dataclass(frozen=True)
class Item:
    kind: str  # "differs" (between nodes), "fault", "erratum", "style" (kept), "cannot express"
    what: str
    host: str
    path: str  # the file, or "" for the host as a whole
    line: int | None
    action: str  # what the runbook would do about it
    exact: bool = False  # names its path only, not the files under it (a home: secretmodes.py)

    def text(self) -> str:
        where = f"{self.host}:{self.path}" + (f":{self.line}" if self.line else "") if self.path else self.host
        return f"[{self.kind}] {self.what}\n    at {where}\n    runbook: {self.action}"


def _item(kind: str, what: str, f: Found | None, action: str, host: str = "", path: str = "") -> Item:
    return Item(kind, what, f.host if f else host, f.file if f else path, f.line if f else None, action)
