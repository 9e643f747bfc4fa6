"""Byte-preserving edits of Java ``.properties`` files (log4j, hazelcast).

Follows ``java.util.Properties`` syntax: ``key=value``, ``key: value``,
``key value``, ``#``/``!`` comments, and logical lines continued with an odd
number of trailing backslashes. Bytes are handled as ISO-8859-1 (the format's
own encoding, and a lossless byte<->str map), so untouched bytes stay
identical whatever the real encoding is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Sequence

from runbook_lib.core.change import EditNote
from runbook_lib.configedit._result import EditResult, make_result, newline_of
from runbook_lib.core.errors import ConfigEditError

__all__ = ["SetProperty", "RemoveProperty", "apply_properties_edits", "read_properties"]

_PHYS = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)?")
_WS = " \t\f"


@dataclass(frozen=True)
class _Entry:
    """One logical line holding a property (active, or the ``#key=value`` kind)."""

    start: int  # first char of the logical line
    end: int  # end of its content (before the final line terminator)
    stop: int  # after the final line terminator
    key: str
    key_raw: str
    sep: str  # raw separator text between key and value, e.g. "=", " = ", " "
    value: str  # unescaped
    value_start: int
    commented: bool
    indent: str


def _unescape(raw: str) -> str:
    out, i = [], 0
    while i < len(raw):
        c = raw[i]
        if c != "\\":
            out.append(c)
            i += 1
            continue
        i += 1
        if i >= len(raw):
            break
        c = raw[i]
        if c in "\r\n":  # continuation: drop the line break and the next line's indentation
            i += 2 if raw[i:i + 2] == "\r\n" else 1
            while i < len(raw) and raw[i] in _WS:
                i += 1
            continue
        if c == "u" and re.fullmatch(r"[0-9a-fA-F]{4}", raw[i + 1:i + 5] or ""):
            out.append(chr(int(raw[i + 1:i + 5], 16)))
            i += 5
            continue
        out.append({"t": "\t", "n": "\n", "r": "\r", "f": "\f"}.get(c, c))
        i += 1
    # \uD83D\uDE00 style surrogate pairs become one character, as in Java's String
    return "".join(out).encode("utf-16", "surrogatepass").decode("utf-16", "replace")


def _escape(text: str, key: bool = False) -> str:
    out = []
    for n, c in enumerate(text):
        if c == "\\":
            out.append("\\\\")
        elif c in "\t\n\r\f":
            out.append({"\t": "\\t", "\n": "\\n", "\r": "\\r", "\f": "\\f"}[c])
        elif (key and c in "=: #!") or (c == " " and n == 0):
            out.append("\\" + c)
        elif ord(c) > 0x7E:
            units = c.encode("utf-16-be", "surrogatepass")
            out.extend(f"\\u{int.from_bytes(units[k:k + 2], 'big'):04x}" for k in range(0, len(units), 2))
        else:
            out.append(c)
    return "".join(out)


def _split(body: str, base: int) -> tuple[str, str, str, int]:
    """(raw key, raw separator, raw value, value offset) of a logical line without indentation."""
    i, n = 0, len(body)
    while i < n:
        c = body[i]
        if c == "\\":
            i += 2
            continue
        if c in "=:" or c in _WS:
            break
        i += 1
    key_end = i
    while i < n and body[i] in _WS:
        i += 1
    if i < n and body[i] in "=:":
        i += 1
        while i < n and body[i] in _WS:
            i += 1
    return body[:key_end], body[key_end:i], body[i:], base + i


def _entries(text: str) -> list[_Entry]:
    """Every property-shaped logical line, active or commented, in file order."""
    out: list[_Entry] = []
    lines = [(m.start(), m.group()) for m in _PHYS.finditer(text) if m.group()]
    k = 0
    while k < len(lines):
        start, line = lines[k]
        content = line.rstrip("\r\n")
        stripped = content.lstrip(_WS)
        indent = content[: len(content) - len(stripped)]
        if not stripped:
            k += 1
            continue
        if stripped[0] in "#!":
            body = stripped.lstrip("#!").lstrip(_WS)
            off = start + len(content) - len(body)
            kr, sep, vr, vs = _split(body, off)
            if kr:
                out.append(_Entry(start, start + len(content), start + len(line), _unescape(kr), kr, sep,
                                  _unescape(vr), vs, True, indent))
            k += 1
            continue
        first = k
        while len(re.search(r"\\*$", content).group()) % 2 == 1 and k + 1 < len(lines):
            k += 1
            content = lines[k][1].rstrip("\r\n")
        end = lines[k][0] + len(content)
        stop = lines[k][0] + len(lines[k][1])
        body_start = lines[first][0] + len(indent)
        kr, sep, vr, vs = _split(text[body_start:end], body_start)
        out.append(_Entry(start, end, stop, _unescape(kr), kr, sep, _unescape(vr), vs, False, indent))
        k += 1
    return out


def read_properties(data: bytes) -> dict[str, str]:
    """Active properties, unescaped; a repeated key keeps its last value (as Java does)."""
    return {e.key: e.value for e in _entries(data.decode("latin-1")) if not e.commented}


@dataclass(frozen=True)
class SetProperty:
    """Set ``key``: rewrite the active line's value; else uncomment a ``#key=...`` line
    (preferring one that already holds ``value``); else append at the end."""

    key: str
    value: str

    def step(self, text: str) -> tuple[str, EditNote]:
        entries = _entries(text)
        active = [e for e in entries if e.key == self.key and not e.commented]
        val = _escape(self.value)
        if active:
            e = active[-1]  # the one Java uses
            extra = f" ({len(active) - 1} earlier duplicate(s) left)" if len(active) > 1 else ""
            if e.value == self.value:
                return text, EditNote.same(self.key, self.value, f"{self.key}: already {self.value!r}{extra}")
            sep = e.sep or "="
            new = text[:e.value_start] + ("" if e.sep else sep) + val + text[e.end:]
            at = _line(text, e.start)
            return new, EditNote(self.key, e.value, self.value, at,
                                 f"{self.key}: {e.value!r} -> {self.value!r} (line {at}){extra}")
        commented = [e for e in entries if e.key == self.key]
        if commented:
            e = ([c for c in commented if c.value == self.value] or commented)[-1]
            line = e.indent + e.key_raw + (e.sep or "=") + val
            at = _line(text, e.start)
            return (text[:e.start] + line + text[e.end:],
                    EditNote(self.key, None, self.value, at, f"{self.key}: uncommented line {at} and set {self.value!r}"))
        seps = [e.sep for e in entries if not e.commented and e.sep]
        line = _escape(self.key, key=True) + (seps[-1] if seps else "=") + val
        nl = newline_of(text)
        if not text or text.endswith(("\n", "\r")):
            return text + line + nl, EditNote(self.key, None, self.value, None, f"{self.key}: appended {self.value!r}")
        return text + nl + line, EditNote(self.key, None, self.value, None,
                                          f"{self.key}: appended {self.value!r} (file keeps no final newline)")


@dataclass(frozen=True)
class RemoveProperty:
    """Remove every active line (with its continuation lines) setting ``key``."""

    key: str

    def step(self, text: str) -> tuple[str, EditNote]:
        hits = [e for e in _entries(text) if e.key == self.key and not e.commented]
        if not hits:
            return text, EditNote.same(self.key, None, f"{self.key}: already absent")
        for e in reversed(hits):
            text = text[:e.start] + text[e.stop:]
        return text, EditNote(self.key, hits[-1].value, None, _line(text, hits[0].start),
                              f"{self.key}: removed {len(hits)} line(s)")


def _line(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def apply_properties_edits(data: bytes, edits: Sequence[SetProperty | RemoveProperty],
                           name: str) -> EditResult:
    """Apply ``edits`` in order; each re-reads the text, so later edits see earlier ones."""
    text = data.decode("latin-1")
    notes: list[EditNote] = []
    for edit in edits:
        text, note = edit.step(text)
        notes.append(note)
        if isinstance(edit, SetProperty) and read_properties(text.encode("latin-1")).get(edit.key) != edit.value:
            raise ConfigEditError(f"{name}: {edit.key}: value did not read back after the edit")
    return make_result(data, text.encode("latin-1"), name, notes)
