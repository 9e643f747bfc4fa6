"""The run report: ``index.html`` in a run folder, a page anyone can open
from disk or attach to a ticket (no server, no external assets).

The front page says when, by whom and against what the run was made
(report_meta.py), the verdict per section, the proof the nodes logged
(report_proof.py), what changed (report_changes.py), then each section's
changes (diffs folded) and check tables, read from the run record
(``record.jsonl``), and links to the executed notebooks rendered as HTML
beside them (report_notebook.py).
Everything on the page passes through the secret masker, after resolving
the params' secrets so that ``runbook report`` in a new process masks them too.
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

from ..core.context import resolve_params_path
from ..core.errors import RunbookError
from ..core.textview import diff_kind
from ..params import load_params
from ..params.derive import secret_names
from ..params.secrets import Secrets, mask_text
from . import report_changes, report_proof
from .report_meta import duration
from .report_notebook import page, render_notebooks
from .report_style import fold

INDEX = "index.html"

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


def _diff(text: str) -> str:
    lines = []
    for line in text.splitlines():
        cls = diff_kind(line)
        lines.append(f'<span class="{cls}">{_e(line)}</span>' if cls else _e(line))
    return "<pre>" + "\n".join(lines) + "</pre>"


def _word(s: dict, apply: bool) -> str:
    """The section's word as the terminal and summary.txt say it (runner.SectionResult.word)."""
    if "word" in s:
        return s["word"]
    return "FAIL" if not s["ok"] else "ok" if apply or not s["changed"] else "diff"


_WORDS = {"diff": "would change"}
_CODE = re.compile(r"^\[?(\d{3})\b")


def _found(r: dict) -> str:
    """A check's found value; an HTTP answer other than 200 that the check expected says so."""
    text = f"<code>{_e(r['found'])}</code>"
    m = _CODE.match(str(r.get("found", "")))
    if r.get("state") == "ok" and m and m.group(1) != "200":
        text += " <span class='expected'>(expected)</span>"
    return text


def _summary_table(summary: dict, links: dict[str, str]) -> str:
    apply = summary["apply"]
    head = ["section", "result", "changes made" if apply else "changes to make", "checks passed"]
    head += [] if apply else ["to change"]
    head += ["failed", "seconds", "executed notebook"]
    rows = []
    for s in summary["sections"]:
        word = _word(s, apply)
        result = _WORDS.get(word, word)
        cells = [f'<a href="#{_e(s["name"])}">{_e(s["name"])}</a>', _e(result), s["changed"], s["passed"]]
        cells += [] if apply else [s.get("to_change", 0)]
        link = links.get(s["name"])
        cells += [s["failed"], f'{s["seconds"]:.1f}', f'<a href="{_e(link)}">{_e(link)}</a>' if link else ""]
        cls = {"FAIL": "FAIL", "ok": "ok", "diff": "to-change"}.get(word, "skipped")
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
                what = c.get("pending") or [c["summary"]]
                parts.append(f"<p><code>{_e(c['target'])}</code>:</p><ul class='what'>"
                             + "".join(f"<li>{_e(w)}</li>" for w in what) + "</ul>")
                if c.get("commands"):
                    parts.append(_diff("\n".join(f"$ {x}" for x in c["commands"])))
                if c.get("diff"):
                    parts.append(fold("diff", _diff(c["diff"])))
        elif entry["type"] == "checks":
            parts.append(f"<h3>{_e(entry.get('headline') or entry['title'])}</h3>")
            rows = entry.get("rows", [])
            if rows:
                table = ("<table><tr><th></th><th>host</th><th>check</th><th>expected</th><th>found</th>"
                         "<th>fix</th></tr>" + "".join(
                             f'<tr class="{r["state"].replace(" ", "-")}"><td>{_e(r["state"])}</td>'
                             f'<td>{_e(r["host"])}</td><td>{_e(r["what"])}</td><td><code>{_e(r["expected"])}'
                             f'</code></td><td>{_found(r)}</td><td>{_e(r["fix"])}</td></tr>'
                             for r in rows) + "</table>")
                all_ok = all(r["state"] == "ok" for r in rows)  # a miss stays open; a table of passes is folded
                parts.append(fold(f"{len(rows)} checks, all passed (the table prints in the section's notebook)",
                                  table, printed=False) if all_ok else table)
    return "\n".join(parts)


def _meta_table(meta: dict) -> str:
    """When, by whom, with which runbook and params, against which cluster (summary.json's meta)."""
    if not meta:
        return ""
    c = meta["cluster"]
    nodes = ", ".join(f"{n} ({v['role']} on {v['host']})" for n, v in c["nodes"].items())
    hosts = ", ".join(f"{h} {a}" for h, a in c["hosts"].items())
    rows = [("mode", meta["mode"]), ("started (UTC)", meta["started"]),
            ("ended (UTC)", f"{meta['ended']} ({duration(meta['seconds'])})" if meta.get("ended") else "(unfinished)"),
            ("runbook commit", meta["runbook_commit"]),
            ("params", f"{meta['params_file']} (sha256 {meta['params_sha256']})"),
            ("cluster", f"{c['name']}: {c['product']} {c['version']}, domain {c['domain']}"
             + (f", lab instance {meta['lab_instance']}" if meta.get("lab_instance") else "")),
            ("hosts", hosts), ("nodes", nodes), ("run by", f"{meta['user']} on {meta['machine']}")]
    return ("<table id='meta' class='meta'>" + "".join(f"<tr><td>{_e(k)}</td><td>{_e(v)}</td></tr>" for k, v in rows)
            + "</table>")


def _hosts_table(hosts: dict, apply: bool) -> str:
    """The per-host recap (recap.py) as the terminal and summary.txt give it."""
    if not hosts:
        return ""
    cols = ["ok", "changed"] + ([] if apply else ["to_change"]) + ["failed"]
    names = {"changed": "changed" if apply else "would change", "to_change": "to change"}
    rows = "".join(f"<tr class='{'FAIL' if n.get('failed') else 'ok'}'><td>{_e(h)}</td>"
                   + "".join(f"<td>{n.get(c, 0)}</td>" for c in cols) + "</tr>" for h, n in hosts.items())
    return ("<table id='hosts'><tr><th>host</th>" + "".join(f"<th>{names.get(c, c)}</th>" for c in cols)
            + f"</tr>{rows}</table>")


def _no_proof(summary: dict) -> str:
    skipped = [s["name"] for s in summary["sections"] if _word(s, summary["apply"]) == "skipped (plan only)"]
    return ("<h2 id='proof'>The proof</h2><p>" + _e(", ".join(skipped)) + " starts the nodes and tests the cluster "
            "only when applied: skipped (plan only).</p>") if skipped else ""


def page_title(run_dir: Path, summary: dict, verdict: str) -> str:
    meta = summary.get("meta") or {}
    cluster = meta.get("cluster", {}).get("name", "")
    when = meta.get("started", run_dir.name)
    mode = "apply" if summary["apply"] else "plan"
    return f"{verdict.split(':')[0]} · {mode} of {cluster or summary['params_file']} · {when}"


def render_index(run_dir: Path, summary: dict, record: dict[str, list[dict]], links: dict[str, str],
                 evidence: list[dict] | None = None) -> str:
    apply, code = summary["apply"], summary.get("exit_code", 0 if summary["ok"] else 1)
    verdict = VERDICTS.get((apply, code), "FAILED")
    names = [s["name"] for s in summary["sections"]]
    body = [f"<h1>Runbook run {_e(run_dir.name)}</h1>",
            f"<p>{'Applied' if apply else 'Plan only (nothing was changed)'} with <code>"
            f"{_e(summary['params_file'])}</code>. <span class='verdict v{code}'>{_e(verdict)}</span> "
            f"(exit code {code})</p>",
            _meta_table(summary.get("meta") or {}),
            _summary_table(summary, links),
            _hosts_table(summary.get("hosts") or {}, apply),
            report_proof.front(evidence or []) or _no_proof(summary),
            report_changes.table(report_changes.rows(record, names, run_dir, apply,
                                                     {s["name"]: s.get("files", []) for s in summary["sections"]}),
                                 apply)]
    body += [_section(s, record.get(s["name"], []), apply) for s in summary["sections"]]
    return page(page_title(run_dir, summary, verdict), "\n".join(b for b in body if b))


def write_report(run_dir: str | Path) -> Path:
    """(Re)write RUN_DIR/index.html and the notebooks' HTML renderings."""
    from ..core.evidence import read as read_evidence
    run_dir = Path(run_dir)
    summary_path = run_dir / "summary.json"
    if not summary_path.exists() and (run_dir / "journal.jsonl").exists():  # a rolling apply's folder (issue 21)
        from . import report_rolling
        from .journal import Journal
        params_file = Journal(run_dir).state().start.get("params_file")
        if params_file:
            register_secrets(params_file)
        return report_rolling.write(run_dir)
    if not summary_path.exists():
        raise RunbookError(f"{run_dir}: no summary.json, so not a run folder. Fix: give a folder made by "
                           "`runbook run` or `runbook check` (runs/<UTC time>/)")
    summary = json.loads(summary_path.read_text())
    register_secrets(summary["params_file"])
    verdict = VERDICTS.get((summary["apply"], summary.get("exit_code", 0 if summary["ok"] else 1)), "FAILED")
    links = render_notebooks(run_dir, page_title(run_dir, summary, verdict))
    target = run_dir / INDEX
    tmp = target.with_suffix(".tmp")
    tmp.write_text(mask_text(render_index(run_dir, summary, read_record(run_dir), links, read_evidence(run_dir))))
    tmp.replace(target)
    return target
