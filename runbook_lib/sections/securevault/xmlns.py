"""The two marks cipher-tool leaves in an XML file it secures, as byte-preserving edits.

CipherTool.tokenToConfigFile (cipher-tool 1.0.0-wso2v3) declares
``xmlns:svns="http://org.wso2.securevault/configuration"`` on the root
element, writes ``password`` in place of the secret (the element's text, or
the attribute named in cipher-tool.properties) and adds
``svns:secretAlias="<alias>"`` to that element. It re-serialises the whole
document; here only those bytes change (configedit's way).
"""

from __future__ import annotations

from dataclasses import dataclass

from ...configedit import Edit, SetAttr, SetText
from ...configedit._spans import attr_spans
from ...core.change import EditNote

SVNS = "http://org.wso2.securevault/configuration"
ALIAS_ATTR = "svns:secretAlias"
PLACEHOLDER = "password"  # Constants.SecureVault.PASSWORD


@dataclass(frozen=True)
class DeclareSvns(Edit):
    """xmlns:svns on the root element (added after its last attribute)."""

    def step(self, doc):  # type: ignore[no-untyped-def]
        root = doc.root
        label = "/ xmlns:svns"
        if root.nsmap.get("svns") == SVNS:
            return doc.data, [EditNote.same(label, SVNS, f"{label}: already {SVNS!r}")]
        sp = doc.span(root)
        spans = attr_spans(doc.data, sp.start, sp.stag_end)
        at = spans[-1][2] + 1 if spans else sp.start + 1 + len(doc.raw_name(root))
        line = doc.line(at)
        new = doc.patch(at, at, b' xmlns:svns="' + SVNS.encode() + b'"')
        return new, [EditNote(label, None, SVNS, line, f"{label}: added {SVNS!r} (line {line})")]


def secured(xpath: str, alias: str, attr: str | None = None) -> list[Edit]:
    """The edits that leave the secret at XPATH (its text, or its attribute ATTR)
    as cipher-tool does: ``password`` and the alias. DeclareSvns must come first."""
    value = SetAttr(xpath, attr, PLACEHOLDER) if attr else SetText(xpath, PLACEHOLDER)
    return [value, SetAttr(xpath, ALIAS_ATTR, alias)]
