"""The run report of a rolling apply (issue 21): ``index.html`` in the
rollout's folder, beside its journal and the sub-runs (before/, batch1/, …,
after/, each with its own index.html).

It shows the rollout's outcome, each batch's steps as the journal recorded
them, and the timeline: which node was out of the load balancer when. With
load data in the folder (``load.json``: a ``LoadResult`` saved by whoever
sent the load, the tests or ``make bench``), the requests per second over
those intervals and every failed request with what the rollout was doing
then (rolling_timeline.py); without it, the out and in times from the
journal alone. Written when the rollout ends (rolling.py) and by
``runbook report RUN`` (report.py hands a folder with a journal and no
summary.json here)."""

from __future__ import annotations

import html
import json
from datetime import datetime
from pathlib import Path

from ..lab.loadgen import LoadResult
from ..params.secrets import mask_text
from .journal import Journal
from .report_notebook import page
from .rolling_timeline import explain, out_intervals, svg

LOAD = "load.json"
INDEX = "index.html"


def _e(text: object) -> str:
    return html.escape(mask_text(str(text)))


def save_load(run_dir: str | Path, load: LoadResult) -> Path:
    """Keep the load's result beside the journal, for the timeline."""
    path = Path(run_dir) / LOAD
    path.write_text(json.dumps(load.to_json()) + "\n")
    return path


def read_load(run_dir: Path) -> LoadResult | None:
    path = run_dir / LOAD
    return LoadResult.from_json(json.loads(path.read_text())) if path.exists() else None


def _start(entries: list[dict]) -> float:
    return datetime.fromisoformat(entries[0]["at"]).timestamp() if entries else 0.0


def journal_svg(entries: list[dict], width: int = 760) -> str:
    """Without load data: one row per batch, a grey bar from its drain to its return."""
    spans, t0 = out_intervals(entries, _start(entries)), _start(entries)
    end = max([b for _, _, b in spans] + [datetime.fromisoformat(e["at"]).timestamp() - t0 for e in entries[-1:]]
              + [1.0])
    x = lambda s: 120 + (width - 130) * s / end  # noqa: E731 - a scale
    rows = []
    for i, (names, a, b) in enumerate(spans):
        y = 10 + 22 * i
        rows.append(f"<text x='4' y='{y + 13}' font-size='11'>{html.escape(names)}</text>"
                    f"<rect x='{x(a):.1f}' y='{y}' width='{max(1.0, x(b) - x(a)):.1f}' height='16' fill='#d0d7de'/>"
                    f"<text x='{x(b) + 4:.1f}' y='{y + 13}' font-size='10'>out {b - a:.1f}s</text>")
    h = 22 * len(spans) + 30
    return (f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{h}'>" + "".join(rows)
            + f"<text x='120' y='{h - 6}' font-size='11'>seconds 0 to {end:.0f} since the rollout began "
              "(grey: out of the load balancer; no load data)</text></svg>")


def timeline_html(run_dir: Path, entries: list[dict]) -> str:
    """The timeline section: the chart, the out/in times per node, the failed requests explained."""
    load = read_load(run_dir)
    t0 = load.started_at if load else _start(entries)
    spans = out_intervals(entries, t0)
    if not spans:
        return ""
    parts = ["<h2 id='timeline'>Timeline: which node was out when</h2>"]
    if load:
        parts.append(f"<p>{_e(load.text().splitlines()[0])}</p>" + svg(load, entries))
    else:
        parts.append("<p>No load was recorded with this rollout (no load.json): the out and in times come from "
                     "the journal alone.</p>" + journal_svg(entries))
    since = "the load began" if load else "the rollout began"
    parts.append(f"<table id='out-times'><tr><th>node(s)</th><th>out (s since {since})</th><th>back in</th>"
                 "<th>seconds out</th></tr>" + "".join(
                     f"<tr><td>{_e(n)}</td><td>{a:.1f}</td><td>{b:.1f}</td><td>{b - a:.1f}</td></tr>"
                     for n, a, b in spans) + "</table>")
    if load and load.failed:
        parts.append("<h3>Failed requests and what the rollout was doing then</h3><ul id='failures'>"
                     + "".join(f"<li>{_e(line)}</li>" for line in explain(load, entries)) + "</ul>")
    elif load:
        parts.append("<p id='failures'>No request failed.</p>")
    return "\n".join(parts)


def _steps_table(entries: list[dict]) -> str:
    rows = [f"<tr class='{'FAIL' if e['event'] == 'stopped' else 'ok'}'><td>{_e(e['at'])}</td>"
            f"<td>{_e(', '.join(e.get('nodes', [])) or ('before' if e['batch'] < 0 else 'after'))}</td>"
            f"<td>{_e(e['step'])}</td><td>{_e(e.get('said') or e.get('why', ''))}</td>"
            f"<td>{e.get('seconds', '')}</td></tr>"
            for e in entries if e.get("event") in ("done", "stopped")]
    return ("<h2 id='steps'>Steps</h2><table><tr><th>done at (UTC)</th><th>node(s)</th><th>step</th>"
            "<th>what it did</th><th>seconds</th></tr>" + "".join(rows) + "</table>")


def render(run_dir: Path) -> str:
    journal = Journal(run_dir)
    entries, st = journal.entries(), journal.state()
    start = st.start
    verdict = ("ROLLED: every batch done" if st.finished else f"STOPPED: {st.stopped}" if st.stopped
               else "UNFINISHED: interrupted; `runbook resume` continues it")
    subs = sorted((p.parent.name for p in run_dir.glob("*/index.html")),
                  key=lambda n: (n != "before", n == "after", len(n), n))
    body = [f"<h1>Rolling apply {_e(run_dir.name)}</h1>",
            f"<p>With <code>{_e(start.get('params_file', '?'))}</code>, batches of {start.get('batch_size', '?')}: "
            f"{_e(' → '.join(', '.join(b) for b in start.get('batches', [])))}. "
            f"<span class='verdict v{0 if st.finished else 1}'>{_e(verdict)}</span></p>",
            timeline_html(run_dir, entries), _steps_table(entries)]
    if subs:
        body.append("<h2 id='sections'>The sections' runs</h2><ul>" + "".join(
            f"<li><a href='{_e(n)}/index.html'>{_e(n)}</a></li>" for n in subs) + "</ul>")
    return page(f"{verdict.split(':')[0]} · rolling apply · {run_dir.name}", "\n".join(b for b in body if b))


def write(run_dir: str | Path) -> Path:
    """(Re)write RUN_DIR/index.html of a rolling apply (report.write_report
    comes here, after registering the params' secrets for the masker)."""
    run_dir = Path(run_dir)
    target = run_dir / INDEX
    tmp = target.with_suffix(".tmp")
    tmp.write_text(mask_text(render(run_dir)))
    tmp.replace(target)
    return target
