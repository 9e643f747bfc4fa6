"""Byte-preserving edits of the WSO2 ELB's loadbalancer.conf.

Paths name blocks from the top, e.g. ``("services", "esb", "domains",
"wso2.esb.domain", "tenant_range")``. Edits patch the original text at the
parsed spans; comments, alignment and blank lines stay as they are, and a
new entry copies its siblings' indentation and value column.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from typing import Sequence

from runbook_lib.core.change import EditNote
from runbook_lib.configedit._lbparse import LbBlock, LbEntry, parse, problems, render, to_dict
from runbook_lib.configedit._result import (EditResult, indent_before, line_end, line_no, make_result,
                                            newline_of, whole_lines)
from runbook_lib.core.errors import ConfigEditError

__all__ = ["SetLbValue", "ReplaceLbBlock", "RemoveLbBlock", "apply_lbconf_edits", "read_lbconf",
           "lbconf_problems"]

Path = tuple[str, ...]


def _walk(root: LbBlock, path: Sequence[str], name: str) -> tuple[LbBlock, list[str]]:
    """Deepest existing block along ``path`` and the names still missing below it."""
    block = root
    for i, part in enumerate(path):
        found = block.blocks(part)
        if len(found) > 1:
            raise ConfigEditError(f"{name}: {'/'.join(path[:i + 1])}: ambiguous, {len(found)} blocks")
        if not found:
            return block, list(path[i:])
        block = found[0]
    return block, []


def _unit(text: str, root: LbBlock) -> str:
    """One indentation step, read from the first block whose first item is indented."""
    todo = [root]
    while todo:
        block = todo.pop(0)
        outer = "" if block is root else indent_before(text, block.start)
        if block.items and outer is not None:
            inner = indent_before(text, block.items[0].start)
            if inner is not None and inner.startswith(outer) and inner != outer:
                return inner[len(outer):]
        todo += [i for i in block.items if isinstance(i, LbBlock)]
    return "    "


def _item_indent(text: str, block: LbBlock, root: LbBlock) -> str:
    for item in reversed(block.items):
        ind = indent_before(text, item.start)
        if ind is not None:
            return ind
    outer = "" if block is root else (indent_before(text, block.start) or "")
    return outer + _unit(text, root)


def _is_inline(text: str, block: LbBlock, root: LbBlock) -> bool:
    return block is not root and "\n" not in text[block.open:block.close]


def _insert(text: str, block: LbBlock, root: LbBlock, lines: list[str], entry: bool, name: str) -> str:
    """Add ``lines`` to ``block``: after its last entry (``entry``) or last item."""
    nl = newline_of(text)
    if block is root:
        lead = "" if not text or text.endswith("\n") else nl
        return text + lead + (nl if text.strip() else "") + nl.join(lines) + nl
    if _is_inline(text, block, root):
        raise ConfigEditError(f"{name}: line {line_no(text, block.start)}: block {block.name!r} is written on "
                              "one line, which the ELB's line-based parser cannot read; rewrite it with "
                              "ReplaceLbBlock (which writes one item per line)")
    items = [i for i in block.items if isinstance(i, LbEntry)] if entry else block.items
    items = items or block.items
    at = (items[-1].end if isinstance(items[-1], LbEntry) else items[-1].close + 1) if items else block.open + 1
    eol = line_end(text, at)
    rest = text[at:eol].strip()
    if not rest or rest.startswith("#"):
        at = eol
    indent = _item_indent(text, block, root)
    return text[:at] + nl + nl.join(indent + ln for ln in lines) + text[at:]


def _nest(missing: list[str], inner: list[str], unit: str) -> list[str]:
    for part in reversed(missing):
        inner = [f"{part} {{", *[unit + ln for ln in inner], "}"]
    return inner


def _entry_line(text: str, block: LbBlock, key: str, value: str) -> str:
    """``key value;`` with the key padded to the siblings' value column, if they align."""
    for e in (i for i in block.items if isinstance(i, LbEntry)):
        gap = text[e.start + len(e.key):e.value_start]
        if gap.strip(" ") == "" and len(gap) > 1:
            return f"{key.ljust(max(len(key) + 1, len(e.key) + len(gap)))}{value};"
    return f"{key} {value};"


def _check(value: str, name: str, path: Sequence[str]) -> None:
    """Refuse what the ELB's parser would cut short: ``; { } #`` or a newline in a value,
    whitespace in a name."""
    if not value or any(c in value for c in ";{}#\r\n"):
        raise ConfigEditError(f"{name}: {'/'.join(path)}: bad value {value!r} "
                              "(empty, or holds ; { } # or a newline)")
    for part in path:
        if not part or any(c.isspace() or c in ";{}#" for c in part):
            raise ConfigEditError(f"{name}: {'/'.join(path)}: bad name {part!r}")


def _check_tree(tree: dict, name: str, path: Sequence[str]) -> None:
    for key, value in tree.items():
        if isinstance(value, dict):
            _check_tree(value, name, (*path, key))
        else:
            _check(value, name, (*path, key))


@dataclass(frozen=True)
class SetLbValue:
    """Set ``key value;`` at ``path`` (last element is the key), creating missing blocks."""

    path: Path
    value: str

    def step(self, text: str, root: LbBlock, name: str) -> tuple[str, EditNote]:
        _check(self.value, name, self.path)
        *where, key = self.path
        label = "/".join(self.path)
        block, missing = _walk(root, where, name)
        if missing:
            lines = _nest(missing, [f"{key} {self.value};"], _unit(text, root))
            note = EditNote(label, None, self.value, None, f"{label}: added {self.value!r} (new block {'/'.join(missing)})")
            return _insert(text, block, root, lines, False, name), note
        hits = block.entries(key)
        if len(hits) > 1:
            raise ConfigEditError(f"{name}: {label}: ambiguous, set {len(hits)} times")
        if hits:
            e = hits[0]
            if e.value == self.value:
                return text, EditNote.same(label, self.value, f"{label}: already {self.value!r}")
            new = self.value if e.value_start > e.start + len(e.key) else " " + self.value
            at = line_no(text, e.start)
            return (text[:e.value_start] + new + text[e.value_end:],
                    EditNote(label, e.value, self.value, at, f"{label}: {e.value!r} -> {self.value!r} (line {at})"))
        line = _entry_line(text, block, key, self.value)
        return _insert(text, block, root, [line], True, name), EditNote(label, None, self.value, None,
                                                                        f"{label}: added {self.value!r}")


def _strings(d: dict) -> dict:
    return {str(k): _strings(v) if isinstance(v, dict) else str(v) for k, v in d.items()}


@dataclass(frozen=True)
class ReplaceLbBlock:
    """Make the block at ``path`` hold exactly ``body`` (conf text, or a nested dict
    of blocks and values); created if missing. Same content is a no-op."""

    path: Path
    body: str | dict

    def step(self, text: str, root: LbBlock, name: str) -> tuple[str, EditNote]:
        label, unit = "/".join(self.path), _unit(text, root)
        if isinstance(self.body, dict):
            want = _strings(self.body)
            _check_tree(want, name, self.path)
            lines = render(want, unit)
        else:
            want = to_dict(parse(self.body, f"{name} ({label} body)"))
            lines = [ln.rstrip() for ln in textwrap.dedent(self.body).strip("\r\n").splitlines()]
        block, missing = _walk(root, self.path, name)
        if missing:
            new = _nest(missing, lines, unit)
            return _insert(text, block, root, new, False, name), EditNote(
                label, None, "added", None, f"{label}: added (new block {'/'.join(missing)})")
        if to_dict(block) == want:
            return text, EditNote.same(label, "as wanted", f"{label}: already as wanted")
        nl, indent = newline_of(text), _item_indent(text, block, root)
        outer = indent_before(text, block.start) or ""
        content = nl + nl.join(indent + ln for ln in lines) + nl + outer
        if not block.closed:
            content += "}" + nl
        at = line_no(text, block.start)
        return (text[:block.open + 1] + content + text[block.close:],
                EditNote(label, "other content", "as wanted", at, f"{label}: content replaced (line {at})"))


@dataclass(frozen=True)
class RemoveLbBlock:
    """Remove the block (or the ``key value;`` entries) at ``path``, with its lines."""

    path: Path

    def step(self, text: str, root: LbBlock, name: str) -> tuple[str, EditNote]:
        label = "/".join(self.path)
        block, missing = _walk(root, self.path, name)
        spans: list[tuple[int, int]] = []
        if not missing:
            spans = [(block.start, block.close + 1)]
        elif len(missing) == 1:
            spans = [(e.start, e.end) for e in block.entries(missing[0])]
        if not spans:
            return text, EditNote.same(label, None, f"{label}: already absent")
        for start, end in reversed(spans):
            s, e = whole_lines(text, start, end)
            text = text[:s] + text[e:]
        at = line_no(text, spans[0][0])
        return text, EditNote(label, "present", None, at, f"{label}: removed (line {at})")


Edit = SetLbValue | ReplaceLbBlock | RemoveLbBlock


def _decode(data: bytes) -> str:
    return data.decode("utf-8", errors="surrogateescape")


def read_lbconf(data: bytes, name: str = "loadbalancer.conf") -> dict:
    """Nested dict of the whole file (blocks -> dicts, entries -> value strings)."""
    return to_dict(parse(_decode(data), name))


def lbconf_problems(data: bytes, name: str = "loadbalancer.conf") -> list[str]:
    """Lines the ELB's own (line-based) parser would misread, e.g. an unclosed block."""
    text = _decode(data)
    return problems(text, parse(text, name))


def apply_lbconf_edits(data: bytes, edits: Sequence[Edit], name: str) -> EditResult:
    """Apply ``edits`` in order; re-parse after each and prove each converged."""
    text = _decode(data)
    root = parse(text, name)
    notes: list[EditNote] = []
    for edit in edits:
        new, note = edit.step(text, root, name)
        if new != text:
            try:
                after = parse(new, name)
            except ConfigEditError as e:
                raise ConfigEditError(f"{name}: {edit!r} produced a broken file: {e}") from e
            if edit.step(new, after, name)[0] != new:
                raise ConfigEditError(f"{name}: {edit!r} does not converge (a second run changes more)")
            text, root = new, after
        notes.append(note)
    return make_result(data, text.encode("utf-8", errors="surrogateescape"), name, notes)
