"""One parsed XML document: lxml tree for finding, expat spans for patching.

Edits in ``xml.py`` ask this class *what* to change (lxml, XPath) and *where*
(byte spans), then return new bytes. The document is re-parsed after every
edit, so spans are never stale and every intermediate state is well-formed.
"""

from __future__ import annotations

import textwrap
import threading
from collections import Counter, OrderedDict
from typing import Mapping, Sequence, Union

from lxml import etree

from runbook_lib.configedit._result import indent_before, line_end, line_no, newline_of
from runbook_lib.configedit._spans import (CommentSpan, ElementSpan, SpanError, SpanIndex, build_index, shift_index,
                                          tag_name)
from runbook_lib.core.errors import ConfigEditError

# A child to write: ("tag", "text"), ("tag", [children]), ("tag", {attrs}, text|children|None),
# or a string holding an XML fragment.
Node = Union[str, tuple]

_PARSER_OPTS = dict(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=True)


def local(el: etree._Element) -> str:
    return etree.QName(el).localname


def escape_text(value: str) -> str:
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def escape_attr(value: str, quote: str = '"') -> str:
    out = escape_text(value).replace("\n", "&#10;").replace("\t", "&#9;").replace("\r", "&#13;")
    return out.replace(quote, "&quot;" if quote == '"' else "&apos;")


def matches(el: etree._Element, tag: str, attrs: Mapping[str, str] | None,
            kids: Mapping[str, str] | None = None) -> bool:
    """Local name equals ``tag``, listed attributes equal, listed child texts equal."""
    if not isinstance(el.tag, str) or local(el) != tag:
        return False
    if any(el.get(k) != v for k, v in (attrs or {}).items()):
        return False
    for k, v in (kids or {}).items():
        found = [c for c in el if isinstance(c.tag, str) and local(c) == k]
        if len(found) != 1 or (found[0].text or "").strip() != v:
            return False
    return True


def norm(el: etree._Element) -> tuple:
    """Comparable form of an element, ignoring comments and layout whitespace."""
    text = "".join(el.xpath("text()")).strip()
    kids = tuple(norm(c) for c in el if isinstance(c.tag, str))
    return (etree.QName(el).text, tuple(sorted(el.attrib.items())), text, kids)


def render_lines(node: Node, unit: str) -> list[str]:
    """Lines (relative indentation) of one node spec or XML fragment."""
    if isinstance(node, str):
        return [ln.rstrip("\r") for ln in textwrap.dedent(node).strip("\r\n").split("\n")]
    if len(node) == 2:
        tag, attrs, content = node[0], {}, node[1]
    elif len(node) == 3:
        tag, attrs, content = node
    else:
        raise ConfigEditError(f"bad node spec {node!r}: want (tag, content) or (tag, attrs, content)")
    head = tag + "".join(f' {k}="{escape_attr(str(v))}"' for k, v in attrs.items())
    if content is None or content == "":
        return [f"<{head}/>"]
    if isinstance(content, str):
        return [f"<{head}>{escape_text(content)}</{tag}>"]
    inner = [unit + ln for child in content for ln in render_lines(child, unit)]
    return [f"<{head}>", *inner, f"</{tag}>"]


class Doc:
    """Immutable view of one version of the bytes; edits return new bytes."""

    def __init__(self, data: bytes, name: str, namespaces: Mapping[str, str] | None = None) -> None:
        self.data, self.name, self.ns = data, name, dict(namespaces or {})
        if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
            raise ConfigEditError(f"{name}: UTF-16 XML is not supported")
        try:
            self.root = etree.fromstring(data, etree.XMLParser(**_PARSER_OPTS))
        except etree.XMLSyntaxError as e:
            raise ConfigEditError(f"{name}: not well-formed XML at line {e.lineno}: {e.msg}. Nothing was written to it. "
                                  "Fix: correct the file by hand (or restore it from a .bak.<run id> copy), then run again") from e
        self.encoding = self.root.getroottree().docinfo.encoding or "UTF-8"
        self.nl = newline_of(data)
        self._index: SpanIndex | None = None

    @property
    def index(self) -> SpanIndex:
        """The byte spans (expat), built on first use: reading values and
        deciding that an edit is already made need only the lxml tree, and the
        spans cost most of a parse."""
        if self._index is None:
            last = getattr(_patched, "last", None)
            try:
                # made by patching a Doc whose spans are known: shifted, when the patch allows (_spans.py)
                index = (last is not None and last[0] is self.data and shift_index(*last[1:])) \
                    or build_index(self.data)
            except SpanError as e:
                raise ConfigEditError(f"{self.name}: not well-formed XML at line {e.line}: {e}") from e
            self.elements = list(self.root.iter(etree.Element))
            if len(self.elements) != len(index.elements):
                raise ConfigEditError(f"{self.name}: lxml and expat disagree on the element count "
                                      "(entities or a DTD?); refusing to patch")
            self.pos = {el: i for i, el in enumerate(self.elements)}
            self._index = index
        return self._index

    # ---- finding -------------------------------------------------------
    def find(self, xpath: str) -> list:
        try:
            found = self.root.getroottree().xpath(xpath, namespaces=self.ns)
        except (etree.XPathError, TypeError) as e:
            raise ConfigEditError(f"{self.name}: bad XPath {xpath!r}: {e}") from e
        return found if isinstance(found, list) else [found]

    def find_one(self, xpath: str) -> etree._Element:
        found = self.find(xpath)
        if not found:
            raise ConfigEditError(f"{self.name}: {xpath}: no element matches")
        if len(found) > 1:
            raise ConfigEditError(f"{self.name}: {xpath}: ambiguous, {len(found)} elements match "
                                  f"(lines {', '.join(str(e.sourceline) for e in found[:5])})")
        if not isinstance(found[0], etree._Element) or not isinstance(found[0].tag, str):
            raise ConfigEditError(f"{self.name}: {xpath}: matches {type(found[0]).__name__}, not an element")
        return found[0]

    def children(self, parent: etree._Element, tag: str, attrs: Mapping[str, str] | None = None,
                 kids: Mapping[str, str] | None = None) -> list[etree._Element]:
        return [c for c in parent if matches(c, tag, attrs, kids)]

    def path(self, el: etree._Element) -> str:
        """A positional XPath that finds ``el`` again after a re-parse."""
        return self.root.getroottree().getpath(el)

    # ---- where ---------------------------------------------------------
    def span(self, el: etree._Element) -> ElementSpan:
        index = self.index  # builds self.pos on first use
        return index.elements[self.pos[el]]

    def line(self, offset: int) -> int:
        return line_no(self.data, offset)

    def enc(self, text: str) -> bytes:
        return text.encode(self.encoding, errors="xmlcharrefreplace")

    def dec(self, raw: bytes) -> str:
        return raw.decode(self.encoding, errors="replace")

    def raw_name(self, el: etree._Element) -> bytes:
        return tag_name(self.data, self.span(el).start)

    def indent_of(self, el: etree._Element) -> str | None:
        ind = indent_before(self.data, self.span(el).start)
        return None if ind is None else self.dec(ind)

    def child_indent(self, parent: etree._Element, at: int | None = None) -> str:
        """Indentation for a new child: that of the nearest indented child element before
        ``at`` (else the most common one), else of a comment, else parent + one unit."""
        sp = self.span(parent)
        found = []
        for i in sp.children:
            ind = indent_before(self.data, self.index.elements[i].start)
            if ind is not None:
                found.append((self.index.elements[i].start, self.dec(ind)))
        if found:
            if at is not None and any(start < at for start, _ in found):
                return [ind for start, ind in found if start < at][-1]
            return Counter(ind for _, ind in found).most_common(1)[0][0]
        for i in sp.comments:
            ind = indent_before(self.data, self.index.comments[i].start)
            if ind is not None:
                return self.dec(ind)
        return (self.indent_of(parent) or "") + self.unit(parent)

    def unit(self, el: etree._Element) -> str:
        """One indentation step, read from the nearest parent/child pair that has one."""
        self.index  # noqa: B018 - builds self.elements with the spans
        for node in (el, *el.iterancestors(), *self.elements):
            outer = self.indent_of(node)
            kids = [c for c in node if isinstance(c.tag, str)]
            inner = self.indent_of(kids[0]) if kids else None
            if outer is not None and inner is not None and inner.startswith(outer) and inner != outer:
                return inner[len(outer):]
        return "    "

    def patch(self, start: int, end: int, new: bytes) -> bytes:
        out = self.data[:start] + new + self.data[end:]
        # kept (per thread) for the Doc of OUT the caller makes next: its spans are these, shifted
        _patched.last = (out, self._index, start, end, self.data[start:end], new) if self._index else None
        return out

    # ---- comments that hold commented-out elements ------------------------
    def parse_fragment(self, text: str, parent: etree._Element) -> list[etree._Element] | None:
        """Elements of ``text`` parsed in ``parent``'s namespace scope, or None if not pure XML."""
        decl = "".join(f' xmlns{":" + p if p else ""}="{escape_attr(u)}"' for p, u in parent.nsmap.items())
        try:
            wrap = etree.fromstring(f"<_w{decl}>{text}</_w>", etree.XMLParser(**_PARSER_OPTS))
        except etree.XMLSyntaxError:
            return None
        els = [c for c in wrap if isinstance(c.tag, str)]
        loose = [wrap.text or ""] + [c.tail or "" for c in wrap]
        if not els or any(t.strip() for t in loose):
            return None
        return els

    def examples(self, parent: etree._Element) -> list[tuple[CommentSpan, str, str, list]]:
        """Comments directly in ``parent`` that hold elements: (comment, add-before, add-after, elements).

        Shipped files write ``<!--parameter ...>..</parameter-->``: the ``<`` and ``>`` are
        eaten by the comment markers, so each comment is tried with them put back.
        """
        out = []
        for ci in self.span(parent).comments:
            c = self.index.comments[ci]
            s = c.text.strip()
            for pre, suf in (("", ""), ("<", ""), ("", ">"), ("<", ">")):
                els = self.parse_fragment(pre + s + suf, parent)
                if els:
                    out.append((c, pre, suf, els))
                    break
        return out

    # ---- writing -------------------------------------------------------
    def desired(self, parent: etree._Element, lines: Sequence[str]) -> tuple:
        els = self.parse_fragment("\n".join(lines), parent)
        if els is None:
            raise ConfigEditError(f"{self.name}: new content is not well-formed XML: {' '.join(lines)[:200]}")
        return tuple(norm(e) for e in els)

    def insert_child(self, parent: etree._Element, lines: Sequence[str], after: int | None) -> bytes:
        """Insert ``lines`` as new child line(s) of ``parent`` after offset ``after``.

        ``after`` is the end of a sibling or comment; None means after the last child
        node. The new lines get the siblings' indentation and the file's line ending.
        """
        sp, data, nl = self.span(parent), self.data, self.nl
        if after is None:
            ends = [self.index.elements[i].end for i in sp.children]
            ends += [self.index.comments[i].end for i in sp.comments]
            after = max(ends) if ends else None
        block = nl.join(self.child_indent(parent, after) + ln for ln in lines)
        if after is not None:
            eol = line_end(data, after)
            rest = data[after:eol].strip()
            if not rest or (rest.startswith(b"<!--") and rest.endswith(b"-->")):
                after = eol
            return self.patch(after, after, self.enc(nl + block))
        if data[sp.stag_end:sp.etag_start].strip():
            raise ConfigEditError(f"{self.name}: line {self.line(sp.start)}: <{local(parent)}> holds text; "
                                  "refusing to add child elements to it")
        return self.replace_content(parent, block)

    def replace_content(self, el: etree._Element, block: str) -> bytes:
        """Make ``block`` (already indented lines) the whole content of ``el``."""
        sp = self.span(el)
        tail = self.enc(self.nl + block + self.nl + (self.indent_of(el) or ""))
        if sp.empty:
            head = self.data[sp.start:sp.stag_end - 2].rstrip()
            return self.patch(sp.start, sp.stag_end, head + b">" + tail + b"</" + self.raw_name(el) + b">")
        return self.patch(sp.stag_end, sp.etag_start, tail)


_docs = threading.local()
_patched = threading.local()  # the last patch of this thread: (result, spans before it, start, end, old, new)
_DOCS_KEPT = 8  # a step works on one file (and its edited versions) at a time per thread


def cached_doc(data: bytes, name: str, namespaces: Mapping[str, str] | None = None) -> Doc:
    """The Doc of DATA, parsed once: a step reads a file's values, edits and
    re-checks the same bytes many times (about 30 parses per node and step
    without this, the CPU cost of sections 04-06 at scale). A Doc is an
    immutable view, so sharing it is safe; the cache is per thread, so no
    lxml tree is ever read by two threads at once."""
    key = (data, name, tuple(sorted((namespaces or {}).items())))
    cache = getattr(_docs, "cache", None)
    if cache is None:
        cache = _docs.cache = OrderedDict()
    doc = cache.get(key)
    if doc is None:
        doc = cache[key] = Doc(data, name, namespaces)
        if len(cache) > _DOCS_KEPT:
            cache.popitem(last=False)
    else:
        cache.move_to_end(key)
    return doc
