"""Byte spans of XML elements and comments, found with expat.

lxml answers *which* element; expat answers *where* it sits in the original
bytes. ``CurrentByteIndex`` gives the offset of each start tag, end tag and
comment, so an edit can patch exactly those bytes and leave the rest alone.
"""

from __future__ import annotations

import re
import xml.parsers.expat
from dataclasses import dataclass, field


@dataclass
class ElementSpan:
    """Where one element sits: ``<a ...>`` is [start, stag_end), ``</a>`` is [etag_start, end)."""

    start: int
    stag_end: int
    etag_start: int = -1
    end: int = -1
    empty: bool = False
    parent: int = -1
    children: list[int] = field(default_factory=list)  # element indices, document order
    comments: list[int] = field(default_factory=list)  # comment indices


@dataclass(frozen=True)
class CommentSpan:
    """``<!--...-->`` at [start, end); ``text`` is what expat decoded between the dashes."""

    start: int
    end: int
    text: str
    parent: int


@dataclass
class SpanIndex:
    elements: list[ElementSpan]
    comments: list[CommentSpan]


class SpanError(Exception):
    """expat refused the document; carries the 1-based line."""

    def __init__(self, message: str, line: int) -> None:
        self.line = line
        super().__init__(message)


# A tag from its "<" to the ">" that closes it, a ">" inside a quoted value skipped; an
# unterminated quote never matches. One regular expression: a byte-by-byte loop in Python
# was half of indexing a file, and a file is indexed again after each edit.
_TAG = re.compile(rb"""<[^"'>]*(?:(?:"[^"]*"|'[^']*')[^"'>]*)*>""")


def tag_end(data: bytes, start: int) -> int:
    """Offset just past the ``>`` closing the tag that opens at ``start`` (quote-aware)."""
    m = _TAG.match(data, start)
    if m is None:
        raise SpanError(f"unterminated tag at byte {start}", data.count(b"\n", 0, start) + 1)
    return m.end()


_ATTR = re.compile(rb"""\s([^\s=/>]+)\s*=\s*("[^"]*"|'[^']*')""", re.S)
_NAME = re.compile(rb"<([^\s/>]+)")


def tag_name(data: bytes, start: int) -> bytes:
    """The raw (possibly prefixed) name of the tag opening at ``start``."""
    m = _NAME.match(data, start)
    assert m is not None
    return m.group(1)


def attr_spans(data: bytes, start: int, stag_end: int) -> list[tuple[bytes, int, int]]:
    """(raw name, value start, value end) for each attribute; the span is inside the quotes."""
    out = []
    for m in _ATTR.finditer(data, start, stag_end):
        out.append((m.group(1), m.start(2) + 1, m.end(2) - 1))
    return out


def build_index(data: bytes) -> SpanIndex:
    """Parse ``data`` with expat and record every element's and comment's span."""
    elements: list[ElementSpan] = []
    comments: list[CommentSpan] = []
    stack: list[int] = []
    parser = xml.parsers.expat.ParserCreate()

    def start(_name: str, _attrs: object) -> None:
        pos = parser.CurrentByteIndex
        end = tag_end(data, pos)
        span = ElementSpan(pos, end, empty=data[end - 2:end] == b"/>")
        span.parent = stack[-1] if stack else -1
        if stack:
            elements[stack[-1]].children.append(len(elements))
        stack.append(len(elements))
        elements.append(span)

    def finish(_name: str) -> None:
        span = elements[stack.pop()]
        if span.empty:
            span.etag_start = span.end = span.stag_end
        else:
            span.etag_start = parser.CurrentByteIndex
            span.end = data.index(b">", span.etag_start) + 1

    def comment(text: str) -> None:
        pos = parser.CurrentByteIndex
        parent = stack[-1] if stack else -1
        if stack:
            elements[stack[-1]].comments.append(len(comments))
        comments.append(CommentSpan(pos, data.index(b"-->", pos) + 3, text, parent))

    parser.StartElementHandler = start
    parser.EndElementHandler = finish
    parser.CommentHandler = comment
    try:
        parser.Parse(data, True)
    except xml.parsers.expat.ExpatError as e:
        raise SpanError(xml.parsers.expat.ErrorString(e.code), e.lineno) from e
    return SpanIndex(elements, comments)


def shift_index(index: SpanIndex, start: int, end: int, old: bytes, new: bytes) -> SpanIndex | None:
    """INDEX of the bytes after OLD at [start, end) was replaced by NEW, without parsing
    again, when the patch cannot change the structure: neither piece holds a ``<`` or
    ``>`` (so it sits inside one text or one attribute value) and it touches no comment.
    Else None: the caller parses. A step patches a file about ten times, and each parse
    for the spans cost more than the edit itself.

    An offset just past a ``>`` (stag_end, end; all of an empty element's) moves when it
    is after START; an offset at a ``<`` (start, etag_start; a comment's start) when it is
    at or after END: an insertion (START == END) right after ``<a>`` and before ``</a>``
    moves ``</a>`` and leaves ``<a>``."""
    if any(c in piece for piece in (old, new) for c in (b"<", b">")):
        return None
    if any(c.start < max(end, start + 1) and start < c.end for c in index.comments):
        return None
    delta = len(new) - (end - start)

    def at_lt(x: int) -> int:
        return x + delta if x >= end else x

    def past_gt(x: int) -> int:
        return x + delta if x > start else x

    elements = [ElementSpan(at_lt(s.start), past_gt(s.stag_end),
                            past_gt(s.etag_start) if s.empty else at_lt(s.etag_start), past_gt(s.end),
                            s.empty, s.parent, s.children, s.comments) for s in index.elements]
    comments = [CommentSpan(at_lt(c.start), past_gt(c.end), c.text, c.parent) for c in index.comments]
    return SpanIndex(elements, comments)
