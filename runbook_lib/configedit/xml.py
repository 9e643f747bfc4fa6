"""Byte-preserving XML edits: find with lxml, write by patching the original bytes.

Re-serialising a tree (the Ansible xml module's way) reflows attributes, drops
blank lines and rewrites the declaration. Here each edit locates its element
with XPath, maps it to its exact byte span (expat) and replaces only those
bytes, so comments, encoding, CRLF and indentation survive and a no-op leaves
the file byte-identical. Tags in edits are local names: new elements are
written unprefixed and so inherit the parent's default namespace.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Mapping, Sequence

from lxml import etree

from runbook_lib.core.change import EditNote
from runbook_lib.configedit._result import EditResult, Memo, make_result, whole_lines
from runbook_lib.configedit._xmldoc import Doc, cached_doc, Node, matches, norm, render_lines
from runbook_lib.configedit._xmlvalues import set_attr, set_text
from runbook_lib.core.errors import ConfigEditError

__all__ = ["SetText", "SetAttr", "EnsureChild", "SetParameter", "EnsureProperty", "Uncomment",
           "ReplaceChildren", "Remove", "Edit", "apply_xml_edits", "get_values"]

Step = tuple[bytes, list[EditNote]]  # (new bytes, what each part of the edit did)


def _anchor(doc: Doc, parent: etree._Element, tag: str, attrs: Mapping[str, str] | None,
            kids: Mapping[str, str] | None, want: tuple) -> tuple[int | None, str]:
    """Where a new child goes: after a commented-out example of it (best: same value),
    else after the last sibling with the same tag, else after the last child."""
    examples = [(c, els) for c, _, _, els in doc.examples(parent)
                if any(matches(e, tag, attrs, kids) for e in els)]
    if examples:
        same = [(c, els) for c, els in examples if any(norm(e) == want for e in els)]
        c, els = (same or examples)[-1]
        how = "as is" if len(els) == 1 else f"with its {len(els) - 1} other element(s)"
        return c.end, f" after the commented-out example at line {doc.line(c.start)} (comment left {how})"
    siblings = doc.children(parent, tag)
    if siblings:
        return doc.span(siblings[-1]).end, ""
    return None, ""


def _ensure(doc: Doc, parent: etree._Element, node: tuple, attrs: Mapping[str, str] | None,
            kids: Mapping[str, str] | None, label: str) -> Step:
    """Add ``node`` under ``parent`` at the anchor; the caller has checked it is missing."""
    lines = render_lines(node, doc.unit(parent))
    want = doc.desired(parent, lines)
    after, how = _anchor(doc, parent, node[0], attrs, kids, want[0])
    data = doc.insert_child(parent, lines, after)
    return data, [EditNote(label, None, "added", None, f"{label}: added{how}")]


class Edit:
    """Base of the declarative edits; ``step`` returns (new bytes, notes)."""

    def step(self, doc: Doc) -> Step:  # pragma: no cover - interface
        raise NotImplementedError


@dataclass(frozen=True)
class SetText(Edit):
    """Set the text of the one element ``xpath`` finds."""

    xpath: str
    value: str

    def step(self, doc: Doc) -> Step:
        return set_text(doc, doc.find_one(self.xpath), self.value, self.xpath)


@dataclass(frozen=True)
class SetAttr(Edit):
    """Set or add attribute ``name`` (added after the last attribute, same line)."""

    xpath: str
    name: str
    value: str

    def step(self, doc: Doc) -> Step:
        return set_attr(doc, doc.find_one(self.xpath), self.name, self.value, self.xpath)


@dataclass(frozen=True)
class EnsureChild(Edit):
    """Ensure ``parent_xpath`` has one ``tag`` child matching ``match_attrs`` /
    ``match_children`` (child texts); then converge its ``attrs``, ``text`` and
    ``children`` (node specs or an XML fragment). Missing: inserted with its
    siblings' indentation."""

    parent_xpath: str
    tag: str
    text: str | None = None
    attrs: Mapping[str, str] = field(default_factory=dict)
    match_attrs: Mapping[str, str] | None = None
    children: Sequence[Node] | str | None = None
    match_children: Mapping[str, str] | None = None

    def step(self, doc: Doc) -> Step:
        parent = doc.find_one(self.parent_xpath)
        preds = [f"@{k}={v!r}" for k, v in (self.match_attrs or {}).items()]
        preds += [f"{k}={v!r}" for k, v in (self.match_children or {}).items()]
        label = f"{self.parent_xpath}/{self.tag}" + "".join(f"[{p}]" for p in preds)
        found = doc.children(parent, self.tag, self.match_attrs, self.match_children)
        if len(found) > 1:
            raise ConfigEditError(f"{doc.name}: {label}: ambiguous, {len(found)} matching children")
        if not found:
            content = self.text if self.children is None else _as_list(self.children)
            node = (self.tag, {**(self.match_attrs or {}), **self.attrs}, content)
            return _ensure(doc, parent, node, self.match_attrs, self.match_children, label)
        path, cur, notes = doc.path(found[0]), doc, []
        subs: list[Edit] = [SetAttr(path, k, v) for k, v in self.attrs.items()]
        if self.text is not None:
            subs.append(SetText(path, self.text))
        if self.children is not None:
            subs.append(ReplaceChildren(path, self.children))
        for sub in subs:
            data, made = sub.step(cur)
            notes += [replace(n, what=n.what.replace(path, label), text=n.text.replace(path, label)) for n in made]
            cur = cached_doc(data, doc.name, doc.ns) if data != cur.data else cur
        return cur.data, notes or [EditNote.same(label, "present", f"{label}: already present")]


def _as_list(children: Sequence[Node] | str) -> list:
    return [children] if isinstance(children, str) else list(children)


@dataclass(frozen=True)
class _Named(Edit):
    parent_xpath: str
    name: str
    value: str

    tag = ""

    def step(self, doc: Doc) -> Step:
        parent = doc.find_one(self.parent_xpath)
        key = {"name": self.name}
        label = f"{self.parent_xpath}/{self.tag}[@name={self.name!r}]"
        found = doc.children(parent, self.tag, key)
        if len(found) > 1:
            raise ConfigEditError(f"{doc.name}: {label}: ambiguous, {len(found)} active elements")
        if found:
            return self._set(doc, found[0], label)
        return _ensure(doc, parent, self._node(), key, None, label)


@dataclass(frozen=True)
class SetParameter(_Named):
    """axis2 ``<parameter name="X">value</parameter>``: set its text or add it."""

    tag = "parameter"

    def _set(self, doc: Doc, el: etree._Element, label: str) -> Step:
        return set_text(doc, el, self.value, label)

    def _node(self) -> tuple:
        return ("parameter", {"name": self.name}, self.value)


@dataclass(frozen=True)
class EnsureProperty(_Named):
    """``<property name="X" value="Y"/>``: set value or add it. A commented-out
    example is left alone (its comment may hold other things); the new element
    goes right after it."""

    tag = "property"

    def _set(self, doc: Doc, el: etree._Element, label: str) -> Step:
        return set_attr(doc, el, "value", self.value, label)

    def _node(self) -> tuple:
        return ("property", {"name": self.name, "value": self.value}, None)


@dataclass(frozen=True)
class Uncomment(Edit):
    """Turn ``<!--<tag ...>...</tag>-->`` (or the ``<!--tag ...>..</tag-->`` form) under
    ``parent_xpath`` into the active element, in place. No-op when already active.
    Refuses when the comment holds other elements too (use EnsureChild/EnsureProperty)."""

    parent_xpath: str
    tag: str
    match_attrs: Mapping[str, str] | None = None

    def step(self, doc: Doc) -> Step:
        parent = doc.find_one(self.parent_xpath)
        preds = "".join(f"[@{k}={v!r}]" for k, v in (self.match_attrs or {}).items())
        label = f"{self.parent_xpath}/{self.tag}{preds}"
        if doc.children(parent, self.tag, self.match_attrs):
            return doc.data, [EditNote.same(label, "active", f"{label}: already active")]
        shared = []
        for c, pre, suf, els in doc.examples(parent):
            hits = [e for e in els if matches(e, self.tag, self.match_attrs)]
            if hits and len(els) == 1:
                inner = doc.data[c.start + 4:c.end - 3].strip()
                new = pre.encode() + inner + suf.encode()
                line = doc.line(c.start)
                return doc.patch(c.start, c.end, new), [EditNote(label, "commented out", "active", line,
                                                                 f"{label}: uncommented (line {line})")]
            if hits:
                shared.append(doc.line(c.start))
        why = (f"the commented-out one at line {shared[0]} shares its comment with other elements"
               if shared else "no active or commented-out element found")
        raise ConfigEditError(f"{doc.name}: {label}: cannot uncomment: {why}")


@dataclass(frozen=True)
class ReplaceChildren(Edit):
    """Make the element's children exactly ``children`` (node specs or an XML
    fragment), indented like the current ones. Equal content (ignoring
    comments and layout) is a no-op."""

    xpath: str
    children: Sequence[Node] | str

    def step(self, doc: Doc) -> Step:
        el = doc.find_one(self.xpath)
        unit = doc.unit(el)
        lines = [ln for ch in _as_list(self.children) for ln in render_lines(ch, unit)]
        want = doc.desired(el, lines) if lines else ()
        if tuple(norm(c) for c in el if isinstance(c.tag, str)) == want:
            return doc.data, [EditNote.same(self.xpath, "as wanted", f"{self.xpath}: children already as wanted")]
        indent = doc.child_indent(el)
        dropped, line = len(doc.span(el).comments), doc.line(doc.span(el).start)
        notes = [EditNote(self.xpath, "other children", f"{len(want)} element(s)", line,
                          f"{self.xpath}: children replaced ({len(want)} element(s), line {line})")]
        notes += [EditNote(self.xpath, f"{dropped} comment(s)", None, line, f"{dropped} comment(s) inside dropped")] \
            if dropped else []
        return doc.replace_content(el, doc.nl.join(indent + ln for ln in lines)), notes


@dataclass(frozen=True)
class Remove(Edit):
    """Remove every element ``xpath`` finds (with its line when alone on it)."""

    xpath: str

    def step(self, doc: Doc) -> Step:
        found = [e for e in doc.find(self.xpath) if isinstance(e, etree._Element) and isinstance(e.tag, str)]
        if not found:
            return doc.data, [EditNote.same(self.xpath, None, f"{self.xpath}: already absent")]
        if any(e is doc.root for e in found):
            raise ConfigEditError(f"{doc.name}: {self.xpath}: refusing to remove the root element")
        spans = sorted({(doc.span(e).start, doc.span(e).end) for e in found}, reverse=True)
        data, last = doc.data, None
        for start, end in spans:
            if last is not None and end <= last[1] and start >= last[0]:
                continue  # nested inside one already removed
            s, e = whole_lines(data, start, end)
            data, last = data[:s] + data[e:], (start, end)
        line = doc.line(spans[-1][0])
        return data, [EditNote(self.xpath, f"{len(found)} element(s)", None, line,
                               f"{self.xpath}: removed {len(found)} element(s) (line {line})")]


def apply_xml_edits(data: bytes, edits: Sequence[Edit], name: str,
                    namespaces: Mapping[str, str] | None = None) -> EditResult:
    """Apply ``edits`` in order to ``data``; re-parse after each and prove each
    converged. Remembered by the bytes and the edits (frozen values, compared by
    their repr): the apply cell recomputes what the plan cell just computed for
    the same file, and on tens of nodes that CPU was most of a step."""
    key = (data, name, tuple(sorted((namespaces or {}).items())), repr(list(edits)))
    found = _RESULTS.get(key)
    if found is None:
        found = _RESULTS.put(key, _apply(data, edits, name, namespaces))
    return found


_RESULTS: Memo[EditResult] = Memo(256)  # a step on tens of nodes, a few files each


def _apply(data: bytes, edits: Sequence[Edit], name: str, namespaces: Mapping[str, str] | None) -> EditResult:
    cached_doc(data, name, namespaces)  # a file that is not XML is refused even with nothing to change
    ns = tuple(sorted((namespaces or {}).items()))
    cur, notes = data, []
    for edit in edits:
        key = (cur, name, ns, repr(edit))
        done = _STEPS.get(key)
        if done is None:
            done = _STEPS.put(key, _step(cur, edit, name, namespaces))
        cur = done[0]
        notes += done[1]
    return make_result(data, cur, name, notes)


def _step(data: bytes, edit: Edit, name: str, namespaces: Mapping[str, str] | None) -> tuple[bytes, tuple]:
    """One edit on DATA, proved to converge: (new bytes, what it did)."""
    new, made = edit.step(cached_doc(data, name, namespaces))
    if new != data:
        try:
            after = cached_doc(new, name, namespaces)
        except ConfigEditError as e:
            raise ConfigEditError(f"{name}: {edit!r} produced broken XML: {e}") from e
        if edit.step(after)[0] != new:
            raise ConfigEditError(f"{name}: {edit!r} does not converge (a second run changes more)")
    return new, tuple(made)


# Each edit's result by the bytes it was applied to: on many nodes the same file takes the
# same edits up to the first that names the node (its localMemberHost, which the edits put
# last), so each node pays for that one edit, not the whole chain (issue 23: 128 workers).
_STEPS: Memo[tuple[bytes, tuple]] = Memo(1024)


def get_values(data: bytes, xpath: str, namespaces: Mapping[str, str] | None = None,
               name: str = "<xml>") -> list[str]:
    """Facts: string value of each matched element, or the matched attribute/text values."""
    found = cached_doc(data, name, namespaces).find(xpath)
    out = []
    for item in found:
        if isinstance(item, etree._Element):
            out.append(item.xpath("string()") if isinstance(item.tag, str) else (item.text or ""))
        else:
            out.append(str(item))
    return out
