"""Tokenizer and parser for the WSO2 ELB's brace-structured loadbalancer.conf.

The syntax (Synapse LB config): ``name { ... }`` blocks holding ``key value;``
entries, ``#`` comments to end of line (also after an entry), ``/* */``
comments. The parser keeps character offsets of every block and entry so
edits can patch the original text instead of re-printing it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from runbook_lib.core.errors import ConfigEditError


@dataclass
class LbEntry:
    """``key value;``: [start, end) covers it all, [value_start, value_end) the value."""

    key: str
    value: str
    start: int
    value_start: int
    value_end: int
    end: int


@dataclass
class LbBlock:
    """``name { ... }``: ``open``/``close`` are the offsets of the braces (root: -1, len).

    A block still open at end of file has ``closed`` False and ``close`` == len(text).
    """

    name: str
    start: int
    open: int
    close: int = -1
    closed: bool = True
    items: list["LbBlock | LbEntry"] = field(default_factory=list)

    def blocks(self, name: str) -> list["LbBlock"]:
        return [i for i in self.items if isinstance(i, LbBlock) and i.name == name]

    def entries(self, key: str) -> list[LbEntry]:
        return [i for i in self.items if isinstance(i, LbEntry) and i.key == key]


def _line(text: str, pos: int) -> int:
    return text.count("\n", 0, pos) + 1


def tokens(text: str, name: str) -> list[tuple[str, int, int]]:
    """(kind, start, end) with kind one of ``word { } ;``; comments and space skipped."""
    out: list[tuple[str, int, int]] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c.isspace():
            i += 1
        elif c == "#":  # a comment anywhere on a line, as the ELB's parser has it
            nl = text.find("\n", i)
            i = n if nl < 0 else nl
        elif text.startswith("/*", i):
            close = text.find("*/", i + 2)
            if close < 0:
                raise ConfigEditError(f"{name}: line {_line(text, i)}: unterminated /* comment")
            i = close + 2
        elif c in "{};":
            out.append((c, i, i + 1))
            i += 1
        else:
            j = i
            while j < n and not text[j].isspace() and text[j] not in "{};#":
                j += 1
            out.append(("word", i, j))
            i = j
    return out


def parse(text: str, name: str) -> LbBlock:
    """The root block of ``text``; raises ConfigEditError with the line on bad syntax."""
    root = LbBlock("", 0, -1, len(text))
    end = len(text)
    stack = [root]
    words: list[tuple[int, int]] = []
    for kind, s, e in tokens(text, name):
        if kind == "word":
            words.append((s, e))
            continue
        if kind == "{":
            if len(words) != 1:
                what = "a block without a name" if not words else "more than one word before '{'"
                raise ConfigEditError(f"{name}: line {_line(text, s)}: {what}")
            block = LbBlock(text[words[0][0]:words[0][1]], words[0][0], s, end)
            stack[-1].items.append(block)
            stack.append(block)
        elif kind == ";":
            if not words:
                raise ConfigEditError(f"{name}: line {_line(text, s)}: ';' without a key")
            vs, ve = (words[1][0], words[-1][1]) if len(words) > 1 else (words[0][1], words[0][1])
            key = text[words[0][0]:words[0][1]]
            stack[-1].items.append(LbEntry(key, text[vs:ve], words[0][0], vs, ve, e))
        else:  # "}"
            if words:
                raise ConfigEditError(f"{name}: line {_line(text, words[-1][1])}: missing ';' after "
                                      f"{text[words[0][0]:words[-1][1]]!r}")
            if len(stack) == 1:
                raise ConfigEditError(f"{name}: line {_line(text, s)}: '}}' without a matching '{{'")
            stack.pop().close = s
        words = []
    if words:
        raise ConfigEditError(f"{name}: line {_line(text, words[0][0])}: missing ';' at end of file")
    for block in stack[1:]:  # the ELB's parser stops at end of file, so neither do we
        block.closed = False
    return root


def problems(text: str, root: LbBlock) -> list[str]:
    """What the ELB's own parser would trip on, though ours reads it.

    That parser (Synapse/Stratos ``NodeBuilder``) is line-based: one ``{``, ``}``
    or ``key value;`` per line, ``#`` starts a comment anywhere, and a block left
    open at end of file is silently closed.
    """
    out = []
    todo = [root]
    while todo:
        block = todo.pop()
        if not block.closed:
            out.append(f"line {_line(text, block.open)}: block {block.name!r} is not closed before end of file")
        todo += [i for i in block.items if isinstance(i, LbBlock)]
    seen: dict[int, int] = {}
    for kind, s, _ in tokens(text, "conf"):
        if kind != "word":
            seen[_line(text, s)] = seen.get(_line(text, s), 0) + 1
    out += [f"line {n}: {k} of '{{' '}}' ';' on one line; the ELB reads only the first"
            for n, k in sorted(seen.items()) if k > 1]
    return sorted(out, key=lambda p: int(p.split(":")[0].split()[1]))


def to_dict(block: LbBlock) -> dict:
    """Nested dict view: blocks become dicts (same-named blocks merge), entries strings."""
    out: dict = {}
    for item in block.items:
        if isinstance(item, LbEntry):
            out[item.key] = item.value
        else:
            sub = to_dict(item)
            prev = out.get(item.name)
            out[item.name] = {**prev, **sub} if isinstance(prev, dict) else sub
    return out


def render(structure: dict, unit: str) -> list[str]:
    """Lines (relative indentation) for a nested dict of blocks and values."""
    lines: list[str] = []
    for key, value in structure.items():
        if isinstance(value, dict):
            lines.append(f"{key} {{")
            lines += [unit + ln for ln in render(value, unit)]
            lines.append("}")
        else:
            lines.append(f"{key} {value};")
    return lines
