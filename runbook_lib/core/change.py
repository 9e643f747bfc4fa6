"""The Change record: what an operation did, or would do.

Every operation returns one. A no-op is ``Change(target, changed=False,
summary="... already ...")``. Its text form is deterministic so nbval can
compare notebook outputs between runs. A Change carries its facts as
fields (the host, the file, each edit with its value before and after, the
notes), so the run summary and the run record never read them back out of
the summary's text.
"""

from __future__ import annotations

import difflib
import hashlib
from dataclasses import dataclass, field
from functools import lru_cache

from .redact import names_secret, redact_file, redact_text
from .valuemask import mask_value


@dataclass(frozen=True)
class EditNote:
    """What one edit of a file did, or found already done: WHAT it sets (an
    element, attribute, key or block), the value BEFORE and AFTER (None:
    absent; equal: already as intended), the LINE it is at, and TEXT, how the
    plan reads it."""

    what: str
    before: str | None
    after: str | None
    line: int | None = None
    text: str = ""
    changed: bool = True

    def __post_init__(self) -> None:
        # An edit of a secret keeps only fingerprints (redact.py): no record or plan shows the value.
        if names_secret(self.what):
            for name in ("before", "after"):
                value = getattr(self, name)
                if value is not None:
                    object.__setattr__(self, name, mask_value(value))
        object.__setattr__(self, "text", redact_text(self.text))

    @classmethod
    def same(cls, what: str, value: str | None, text: str) -> "EditNote":
        """An edit found already made."""
        return cls(what, value, value, None, text, False)

    def __str__(self) -> str:
        return self.text


@dataclass(frozen=True)
class Change:
    target: str  # how the plan names it: "host:path", "database X", "user U"...
    changed: bool
    summary: str
    diff: str = ""
    commands: tuple[str, ...] = field(default_factory=tuple)
    host: str = ""  # the host the change is made on (a database object: the database host)
    path: str = ""  # the file, folder or service on that host it is about ("" when the target is not on a host)
    edits: tuple[EditNote, ...] = ()  # a config file's edits, as made or found already made
    notes: tuple[str, ...] = ()  # anything else the plan says about it (e.g. the backup taken)
    read: str = ""  # the content hash of what the plan read (content_hash): an Apply re-reads and compares

    @property
    def host_file(self) -> bool:
        """Its target is HOST:PATH: the same change on another host differs only by the host
        (fold.py shows such changes once)."""
        return bool(self.host and self.path and self.target == f"{self.host}:{self.path}")

    @property
    def subject(self) -> str:
        """What the change is about on its host (the run summary's "file or object")."""
        return self.path or self.target

    def pending(self) -> list[str]:
        """What is still to be made, one item per edit (the summary when the change has no edits)."""
        if self.edits:
            return [e.text for e in self.edits if e.changed]
        return [self.summary]

    def __str__(self) -> str:
        mark = "CHANGE" if self.changed else "ok    "
        return f"[{mark}] {self.target}: {self.summary}"


def content_hash(data: bytes | None) -> str:
    """A short fingerprint of a target's bytes as read (None: absent), so an
    Apply can tell whether the target changed since the plan was shown."""
    if data is None:
        return "absent"
    return "sha256:" + hashlib.sha256(data).hexdigest()[:16]


@lru_cache(maxsize=128)
def unified_diff(before: str | bytes, after: str | bytes, name: str) -> str:
    """A unified diff of two texts, labelled a/NAME and b/NAME like git.
    Remembered: a step diffs the same bytes when it plans, again when it
    applies, and the edit's result and the write each ask for it.
    Both texts are redacted first (redact.py): a secret shows on either side
    as ***(fingerprint), so a changed password reads ***(a1f3) -> ***(9c02)."""
    if isinstance(before, bytes):
        before = before.decode("utf-8", errors="replace")
    if isinstance(after, bytes):
        after = after.decode("utf-8", errors="replace")
    before, after = redact_file(before, name), redact_file(after, name)
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
