"""The run report: ``index.html`` in a run folder, a page anyone can open
from disk or attach to a ticket (no server, no external assets).

It shows the run's summary table, each section's changes (with their diffs)
and check tables, read from the run record (``record.jsonl``), and links to
HTML renderings of the executed notebooks (nbconvert), written beside them.
Everything on the page passes through the secret masker, after resolving
the params' secrets so that ``runbook report`` in a new process masks them too.
"""

from __future__ import annotations

import html
import json
from pathlib import Path

from ..core.context import resolve_params_path
from ..core.errors import RunbookError
from ..core.textview import diff_kind
from ..params import load_params
from ..params.derive import secret_names
from ..params.secrets import Secrets, mask_text

INDEX = "index.html"

# nbconvert's lab template, minus what it would load from the network
# (require.js, MathJax, mermaid, the widgets manager): the pages stay self-contained.
_NOTEBOOK_TEMPLATE = """{%- extends 'index.html.j2' -%}
{% block html_head_js_requirejs %}{% endblock %}
{% block html_head_js_mathjax %}{% endblock %}
{% block html_head_js_mermaidjs %}{% endblock %}
{% block jupyter_widgets %}{% endblock %}
"""

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:24px;color:#1f2328;max-width:1400px}
h1{font-size:22px}h2{font-size:18px;margin-top:28px;border-bottom:1px solid #d0d7de}h3{font-size:15px}
table{border-collapse:collapse;margin:6px 0 14px 0;font-size:13px}
th,td{border:1px solid #d0d7de;padding:3px 8px;text-align:left;vertical-align:top}
th{background:#f6f8fa}code,pre{font-family:ui-monospace,monospace;font-size:12px}
pre{background:#f6f8fa;padding:6px;overflow-x:auto;margin:2px 0 8px 0}
tr.ok{background:#dafbe1}tr.FAIL{background:#ffebe9}tr.to-change{background:#f6f8fa}
.verdict{font-weight:bold;padding:2px 8px;border-radius:4px}
.v0{background:#dafbe1}.v1{background:#ffebe9}.v2{background:#fff8c5}
.add{color:#1a7f37}.del{color:#cf222e}.hunk{color:#8250df}
"""

VERDICTS = {(True, 0): "OK: applied and verified", (True, 1): "FAILED",
            (False, 0): "AS INTENDED: nothing would change", (False, 2): "WOULD CHANGE: drift found",
            (False, 1): "FAILED"}


def _e(text: object) -> str:
    return html.escape(mask_text(str(text)))


def register_secrets(params_file: str) -> None:
    """Resolve the params' secrets in this process so mask_text hides them."""
    try:
        path = resolve_params_path(params_file)
        p = load_params(path)
        secrets = Secrets(p.secrets_file and (path.parent / p.secrets_file))
    except (RunbookError, OSError):
        return  # params gone or invalid: the record and notebooks were masked when written
    for name in secret_names(p):
        try:
            secrets.get(name)
        except RunbookError:
            pass


def read_record(run_dir: Path) -> dict[str, list[dict]]:
    """The run record's entries (shown reports and check tables) by section."""
    out: dict[str, list[dict]] = {}
    path = run_dir / "record.jsonl"
    if path.exists():
        for line in path.read_text().splitlines():
            entry = json.loads(line)
            out.setdefault(entry.get("section", ""), []).append(entry)
    return out


def render_notebooks(run_dir: Path) -> dict[str, str]:
    """Each executed notebook as NAME.html beside it (masked); section -> file name."""
    import nbformat  # nbconvert, jinja2 and nbformat take seconds to import: only writing a report needs them
    from jinja2 import DictLoader
    from nbconvert import HTMLExporter
    exporter = HTMLExporter(template_name="lab", template_file="runbook.html.j2",
                            extra_loaders=[DictLoader({"runbook.html.j2": _NOTEBOOK_TEMPLATE})])
    out = {}
    for nb_path in sorted(run_dir.glob("[0-9][0-9]_*.ipynb")):
        body, _ = exporter.from_notebook_node(nbformat.read(nb_path, as_version=4))
        target = nb_path.with_suffix(".html")
        target.write_text(mask_text(body))
        out[nb_path.stem] = target.name
    return out


def _diff(text: str) -> str:
    lines = []
    for line in text.splitlines():
        cls = diff_kind(line)
        lines.append(f'<span class="{cls}">{_e(line)}</span>' if cls else _e(line))
    return "<pre>" + "\n".join(lines) + "</pre>"


def _summary_table(summary: dict, links: dict[str, str]) -> str:
    apply = summary["apply"]
    head = ["section", "result", "changes made" if apply else "changes to make", "checks passed"]
    head += [] if apply else ["to change"]
    head += ["failed", "seconds", "executed notebook"]
    rows = []
    for s in summary["sections"]:
        result = "FAIL" if not s["ok"] else "ok" if apply or not s["changed"] else "would change"
        cells = [f'<a href="#{_e(s["name"])}">{_e(s["name"])}</a>', _e(result), s["changed"], s["passed"]]
        cells += [] if apply else [s.get("to_change", 0)]
        link = links.get(s["name"])
        cells += [s["failed"], f'{s["seconds"]:.1f}', f'<a href="{_e(link)}">{_e(link)}</a>' if link else ""]
        cls = "FAIL" if not s["ok"] else "ok" if result == "ok" else "to-change"
        rows.append(f'<tr class="{cls}">' + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    return ('<table id="summary"><tr>' + "".join(f"<th>{h}</th>" for h in head) + "</tr>"
            + "".join(rows) + "</table>")


def _section(s: dict, entries: list[dict], apply: bool) -> str:
    parts = [f'<h2 id="{_e(s["name"])}">{_e(s["name"])}</h2>']
    if s.get("error"):
        parts.append(f"<p><b>Stopped:</b> <code>{_e(s['error'])}</code></p>")
    for entry in entries:
        if entry["type"] == "report" and entry["applied"] == apply:
            verb = "changed" if apply else "would change"
            parts.append(f"<h3>{_e(entry['title'])}: {entry['changed']} of {entry['total']} {verb}</h3>")
            if not entry.get("changes"):
                parts.append("<p>No changes: everything already as intended.</p>")
            for c in entry.get("changes", []):
                parts.append(f"<p><code>{_e(c['target'])}</code>: {_e(c['summary'])}</p>")
                if c.get("commands"):
                    parts.append(_diff("\n".join(f"$ {x}" for x in c["commands"])))
                if c.get("diff"):
                    parts.append(f"<details><summary>diff</summary>{_diff(c['diff'])}</details>")
        elif entry["type"] == "checks":
            parts.append(f"<h3>{_e(entry.get('headline') or entry['title'])}</h3>")
            rows = entry.get("rows", [])
            if rows:
                parts.append("<table><tr><th></th><th>host</th><th>check</th><th>expected</th><th>found</th>"
                             "<th>fix</th></tr>" + "".join(
                                 f'<tr class="{r["state"].replace(" ", "-")}"><td>{_e(r["state"])}</td>'
                                 f'<td>{_e(r["host"])}</td><td>{_e(r["what"])}</td><td><code>{_e(r["expected"])}'
                                 f'</code></td><td><code>{_e(r["found"])}</code></td><td>{_e(r["fix"])}</td></tr>'
                                 for r in rows) + "</table>")
    return "\n".join(parts)


def render_index(run_dir: Path, summary: dict, record: dict[str, list[dict]], links: dict[str, str]) -> str:
    apply, code = summary["apply"], summary.get("exit_code", 0 if summary["ok"] else 1)
    verdict = VERDICTS.get((apply, code), "FAILED")
    differs = [(s["name"], d) for s in summary["sections"] for d in s.get("differs", [])]
    body = [f"<h1>Runbook run {_e(run_dir.name)}</h1>",
            f"<p>{'Applied' if apply else 'Plan only (nothing was changed)'} with <code>"
            f"{_e(summary['params_file'])}</code>. <span class='verdict v{code}'>{_e(verdict)}</span> "
            f"(exit code {code})</p>",
            _summary_table(summary, links)]
    if differs:
        rows = [(n, *d.split("  ", 1)) for n, d in differs]  # "host  file: what"
        body.append("<h2>What would change</h2><table id='differs'><tr><th>section</th><th>host</th>"
                    "<th>file or object: what</th></tr>" + "".join(
                        f"<tr><td>{_e(n)}</td><td>{_e(h)}</td><td><code>{_e(w)}</code></td></tr>"
                        for n, h, w in rows) + "</table>")
    body += [_section(s, record.get(s["name"], []), apply) for s in summary["sections"]]
    return (f"<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'><title>Runbook run {_e(run_dir.name)}"
            f"</title><style>{_CSS}</style></head><body>\n" + "\n".join(body) + "\n</body></html>\n")


def write_report(run_dir: str | Path) -> Path:
    """(Re)write RUN_DIR/index.html and the notebooks' HTML renderings."""
    run_dir = Path(run_dir)
    summary_path = run_dir / "summary.json"
    if not summary_path.exists():
        raise RunbookError(f"{run_dir}: no summary.json, so not a run folder. Fix: give a folder made by "
                           "`runbook run` or `runbook check` (runs/<UTC time>/)")
    summary = json.loads(summary_path.read_text())
    register_secrets(summary["params_file"])
    links = render_notebooks(run_dir)
    target = run_dir / INDEX
    tmp = target.with_suffix(".tmp")
    tmp.write_text(mask_text(render_index(run_dir, summary, read_record(run_dir), links)))
    tmp.replace(target)
    return target
