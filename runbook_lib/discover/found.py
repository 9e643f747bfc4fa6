"""A value read from a cluster, with where it came from.

Every value discover writes into a params file carries its provenance (host,
file, line) or says it is a guess, so an operator can check each line of the
generated file against the node it came from (the way ``terraform plan
-generate-config-out`` leaves a configuration to be reviewed, not trusted).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from lxml import etree

PARSER = dict(resolve_entities=False, no_network=True, load_dtd=False, remove_comments=False)


@dataclass(frozen=True)
class Found:
    """VALUE as read at HOST:FILE:LINE; GUESS when no file said it."""

    value: Any
    host: str = ""
    file: str = ""
    line: int | None = None
    guess: bool = False
    why: str = ""  # for a guess: what it rests on

    def where(self) -> str:
        if self.guess:
            return f"guess: {self.why}" if self.why else "guess"
        if not self.host and not self.file:
            return self.why
        place = f"{self.host}:{self.file}" + (f":{self.line}" if self.line else "")
        return place + (f" ({self.why})" if self.why else "")


def guess(value: Any, why: str) -> Found:
    return Found(value, guess=True, why=why)


@dataclass
class Problem:
    """Bad input discover met: reported by name; discover still writes what it can."""

    where: str  # host, file or database
    what: str
    fix: str = ""

    def __str__(self) -> str:
        return f"{self.where}: {self.what}" + (f" (fix: {self.fix})" if self.fix else "")


@dataclass
class XmlFile:
    """One XML file read from a host: values by XPath, each with its line."""

    host: str
    path: str
    root: Any = None
    error: str = ""
    ns: dict = field(default_factory=dict)

    @classmethod
    def parse(cls, host: str, path: str, data: bytes | None, ns: dict | None = None) -> "XmlFile":
        f = cls(host, path, ns=ns or {})
        if data is None:
            f.error = "missing or unreadable"
            return f
        try:
            f.root = etree.fromstring(data, etree.XMLParser(**PARSER))
        except etree.XMLSyntaxError as e:
            f.error = f"not well-formed XML ({e})"
        return f

    @property
    def ok(self) -> bool:
        return self.root is not None

    def all(self, xpath: str) -> list[Found]:
        """Every value at XPATH (element text stripped, or attribute value)."""
        if self.root is None:
            return []
        out = []
        for hit in self.root.xpath(xpath, namespaces=self.ns):
            if isinstance(hit, etree._Element):
                out.append(Found((hit.text or "").strip(), self.host, self.path, hit.sourceline))
            else:  # an attribute or a string result
                parent = hit.getparent() if hasattr(hit, "getparent") else None
                line = parent.sourceline if parent is not None else None
                out.append(Found(str(hit).strip(), self.host, self.path, line))
        return out

    def one(self, xpath: str) -> Found | None:
        hits = self.all(xpath)
        return hits[0] if hits else None

    def elements(self, xpath: str) -> list[Any]:
        return [] if self.root is None else self.root.xpath(xpath, namespaces=self.ns)

    def found(self, el: Any, rel: str) -> Found | None:
        """The value at REL under element EL, with its line."""
        hits = el.xpath(rel, namespaces=self.ns)
        if not hits:
            return None
        h = hits[0]
        if isinstance(h, etree._Element):
            return Found((h.text or "").strip(), self.host, self.path, h.sourceline)
        return Found(str(h).strip(), self.host, self.path, el.sourceline)
