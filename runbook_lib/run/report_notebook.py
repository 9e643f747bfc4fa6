"""The executed notebooks as HTML pages beside them (NAME.html), readable
and printable: nbconvert's ``basic`` template (the cells, no JupyterLab
CSS, no script) inside our own page, with a title that names the section
and the run, and report_style's stylesheet.

A change's summary is shown as a list of its edits. Each file diff a plan
shows (core/render.diff_html) is folded behind a "diff" toggle; the same
diff shown again when the plan is applied is replaced by a line that says
so. Commands (``$ ...``) stay open. Both rewrite render.py's HTML as it is
today: if that changes, a pattern no longer matches and the page is shown
as rendered, never broken."""

from __future__ import annotations

import html
import re
from pathlib import Path

from ..core.redact import REDACTED
from ..params.secrets import mask_known, mask_text
from .report_style import CSS, fold

# render.diff_html's block: <pre style="font-size:12px;background:#f6f8fa;...">lines</pre>
_DIFF = re.compile(r'<pre style="font-size:12px;background:#f6f8fa[^"]*">(.*?)</pre>', re.S)
_TAG = re.compile(r"<[^>]+>")
# render.report_html's item: <li>MARK <code>target</code>: would change: /xpath: ...; /xpath: ...<pre...
_SUMMARY = re.compile(r"(<li>&#9998; <code>[^<]*</code>: )((?:would change: |changed: )?)([^<]*)")


def list_edits(page_html: str) -> str:
    """A change's summary, its XPath edits joined by "; ", as a list (one edit a line)."""
    def one(m: re.Match) -> str:
        parts = re.split(r"; (?=/)", m.group(3))
        if len(parts) < 2:
            return m.group(0)
        return m.group(1) + m.group(2) + "<ul class='what'>" + "".join(f"<li>{p}</li>" for p in parts) + "</ul>"
    return _SUMMARY.sub(one, page_html)


def fold_diffs(page_html: str, seen: dict[str, int]) -> str:
    """Every diff block of PAGE_HTML folded; one already in SEEN (text -> number) named, not repeated."""
    def one(m: re.Match) -> str:
        text = html.unescape(_TAG.sub("", m.group(1)))
        if text.startswith("$ "):
            return m.group(0)
        if text in seen:
            return f'<p class="same-diff">diff {seen[text]}: as shown in the plan above</p>'
        seen[text] = len(seen) + 1
        lines = text.count("\n") + 1
        adds = sum(1 for ln in text.splitlines() if ln.startswith("+") and not ln.startswith("+++"))
        dels = sum(1 for ln in text.splitlines() if ln.startswith("-") and not ln.startswith("---"))
        label = f"diff {seen[text]} ({lines} lines, +{adds} -{dels})"
        return fold(label, f"<pre>{m.group(1)}</pre>")
    return _DIFF.sub(one, page_html)


def _fold_outputs(nb) -> None:  # noqa: ANN001 - an nbformat node
    seen: dict[str, int] = {}
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            data = out.get("data", {})
            if "text/html" in data:
                data["text/html"] = fold_diffs(list_edits("".join(data["text/html"])), seen)


def title_of(nb, stem: str) -> str:  # noqa: ANN001
    """The notebook's first heading ("05 · The manager node"), else its file name."""
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            m = re.search(r"^#\s+(.+)$", cell.source, re.M)
            if m:
                return m.group(1).strip()
    return stem


def page(title: str, body: str, header: str = "") -> str:
    return (f"<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
            f"<style>{CSS}{_pygments_css()}</style></head><body>\n{header}{body}\n</body></html>\n")


_PYGMENTS: list[str] = []


def _pygments_css() -> str:
    """The input cells' syntax colours (pygments' default style, the few kB nbconvert's classes need)."""
    if not _PYGMENTS:
        from pygments.formatters import HtmlFormatter
        _PYGMENTS.append(HtmlFormatter().get_style_defs(".highlight"))
    return _PYGMENTS[0]


def _exporter():  # noqa: ANN202 - an nbconvert HTMLExporter
    """nbconvert's HTMLExporter with the ``basic`` template, less its last pass:
    after rendering it parses the whole page again with BeautifulSoup to give
    images alt text and JupyterLab cells a tabindex, and writes the page out
    again. The basic template makes neither (no jp-* cells; the runbook shows
    no images), so that pass changed only attribute order and whitespace, and
    it was three quarters of the time a report takes to render its notebooks.
    The filters are registered as HTMLExporter.from_notebook_node does (an
    nbconvert without the attributes used: its own method)."""
    from nbconvert import HTMLExporter
    from nbconvert.exporters.templateexporter import TemplateExporter
    from nbconvert.filters.highlight import Highlight2HTML
    from nbconvert.filters.strings import clean_html
    from nbconvert.filters.widgetsdatatypefilter import WidgetsDataTypeFilter

    def clean_unless_highlighted(element: object) -> str:
        """The template runs each code cell's highlighted source through bleach
        (clean_html): pygments' escaped markup of the runbook's own notebook
        code, which bleach lets through as it is (span, div, pre, class), at a
        third of the pages' time. That markup is kept as pygments made it;
        anything else still goes through clean_html."""
        text = element.decode() if isinstance(element, bytes) else str(element)
        return text if text.startswith('<div class="highlight') else clean_html(text)

    class PageExporter(HTMLExporter):
        def from_notebook_node(self, nb, resources=None, **kw):  # noqa: ANN001, ANN003, ANN202
            if not hasattr(self, "_init_resources") or not hasattr(self, "_nb_metadata"):
                return super().from_notebook_node(nb, resources, **kw)  # another nbconvert: its own way
            info = nb.metadata.get("language_info", {})
            lexer = info.get("pygments_lexer", info.get("name", None))
            resources = self._init_resources(resources)
            self.register_filter("highlight_code", self.filters.get(
                "highlight_code", Highlight2HTML(pygments_lexer=lexer, parent=self)))
            self.register_filter("clean_html", clean_unless_highlighted)
            self.register_filter("filter_data_type", WidgetsDataTypeFilter(
                notebook_metadata=self._nb_metadata, parent=self, resources=resources))
            return TemplateExporter.from_notebook_node(self, nb, resources, **kw)

    return PageExporter(template_name="basic")


def render_notebooks(run_dir: Path, run_label: str) -> dict[str, str]:
    """Each executed notebook as NAME.html beside it (masked); section -> file name."""
    import nbformat  # nbconvert, jinja2 and nbformat take seconds to import: only writing a report needs them
    exporter = _exporter()
    out = {}
    for nb_path in sorted(run_dir.glob("[0-9][0-9]_*.ipynb")):
        nb = nbformat.read(nb_path, as_version=4)
        _fold_outputs(nb)
        body, _ = exporter.from_notebook_node(nb)
        title = f"{title_of(nb, nb_path.stem)} · {run_label}"
        header = (f"<p><a href='index.html'>&larr; run report</a> · executed notebook "
                  f"<code>{html.escape(nb_path.name)}</code></p>")
        target = nb_path.with_suffix(".html")
        # A notebook the runner redacted (every output, as text) needs only the values known
        # since: the location rules over a rendered page meet every HTML element (most of a
        # report's time). One it did not (a run killed mid-section) gets every rule again.
        mask = mask_known if nb.metadata.get(REDACTED) else mask_text
        target.write_text(mask(page(title, body, header)))
        out[nb_path.stem] = target.name
    return out
