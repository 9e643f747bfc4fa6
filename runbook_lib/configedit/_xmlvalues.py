"""Setting one value in place: an element's text or an attribute, patched at
its byte span in the original document (``_xmldoc.Doc``), everything else
left byte for byte."""

from __future__ import annotations

from lxml import etree

from runbook_lib.configedit._spans import attr_spans
from runbook_lib.configedit._xmldoc import Doc, escape_attr, escape_text, local
from runbook_lib.core.change import EditNote
from runbook_lib.core.errors import ConfigEditError


def set_text(doc: Doc, el: etree._Element, value: str, label: str) -> tuple[bytes, list[EditNote]]:
    """Replace a leaf element's content (or expand ``<a/>``); returns (bytes, notes)."""
    if any(isinstance(c.tag, str) for c in el):
        raise ConfigEditError(f"{doc.name}: {label}: <{local(el)}> has child elements, cannot set its text")
    current = el.xpath("string()")
    if current == value:
        return doc.data, [EditNote.same(label, value, f"{label}: already {value!r}")]
    sp = doc.span(el)
    if sp.comments:
        raise ConfigEditError(f"{doc.name}: {label}: <{local(el)}> holds a comment; refusing to drop it")
    text = doc.enc(escape_text(value))
    line = doc.line(sp.start)
    where = [EditNote(label, current, value, line, f"{label}: {current!r} -> {value!r} (line {line})")]
    if sp.empty:
        head = doc.data[sp.start:sp.stag_end - 2].rstrip()
        return doc.patch(sp.start, sp.stag_end, head + b">" + text + b"</" + doc.raw_name(el) + b">"), where
    return doc.patch(sp.stag_end, sp.etag_start, text), where


def qname(doc: Doc, el: etree._Element, name: str) -> str:
    """``prefix:name`` becomes Clark notation for lxml (prefix from the edit's map, else the file's)."""
    prefix, _, rest = name.rpartition(":")
    scope = {**{p: u for p, u in el.nsmap.items() if p}, **doc.ns}
    if prefix and prefix in scope:
        return f"{{{scope[prefix]}}}{rest}"
    return name


def set_attr(doc: Doc, el: etree._Element, name: str, value: str, label: str) -> tuple[bytes, list[EditNote]]:
    """Patch an attribute value in place, or add it after the last attribute."""
    current = el.get(qname(doc, el, name))
    if current == value:
        return doc.data, [EditNote.same(f"{label} @{name}", value, f"{label} @{name}: already {value!r}")]
    sp = doc.span(el)
    spans = attr_spans(doc.data, sp.start, sp.stag_end)
    raw = doc.enc(name)
    for aname, vs, ve in spans:
        if aname == raw:
            quote = doc.data[vs - 1:vs].decode("ascii")
            new = doc.enc(escape_attr(value, quote))
            line = doc.line(vs)
            return doc.patch(vs, ve, new), [EditNote(f"{label} @{name}", current, value, line,
                                                     f"{label} @{name}: {current!r} -> {value!r} (line {line})")]
    at = spans[-1][2] + 1 if spans else sp.start + 1 + len(doc.raw_name(el))
    new = b" " + raw + b'="' + doc.enc(escape_attr(value)) + b'"'
    line = doc.line(at)
    return doc.patch(at, at, new), [EditNote(f"{label} @{name}", None, value, line,
                                             f"{label} @{name}: added {value!r} (line {line})")]
