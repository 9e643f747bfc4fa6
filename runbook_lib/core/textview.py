"""Plain-text rendering shared by every display object: aligned tables, and
the ``text()``-backed repr that IPython and nbval show as text/plain."""

from __future__ import annotations

from typing import Sequence


def diff_kind(line: str) -> str:
    """What a unified-diff line is: "add", "del", "hunk" or "" (context, headers)."""
    if line.startswith("+") and not line.startswith("+++"):
        return "add"
    if line.startswith("-") and not line.startswith("---"):
        return "del"
    return "hunk" if line.startswith("@@") else ""


def text_table(rows: Sequence[Sequence[object]], max_width: int | None = None) -> list[str]:
    """Left-aligned columns two spaces apart; a column is padded to at most
    MAX_WIDTH (longer cells are kept whole, not cut)."""
    cells = [[str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(cells[0]))]
    if max_width is not None:
        widths = [min(max_width, w) for w in widths]
    return ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in cells]


class TextShown:
    """Mixin: ``repr`` and IPython's text/plain are ``self.text()``."""

    def text(self) -> str:
        raise NotImplementedError

    def __repr__(self) -> str:
        return self.text()

    def _repr_pretty_(self, p, cycle) -> None:  # noqa: ANN001 - IPython's signature
        p.text(self.text())
