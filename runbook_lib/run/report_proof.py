"""The proof on the report's front page, drawn from ``evidence.jsonl``
(core/evidence.py; written by 08 and 07 as they reach their verdicts):
each node started, the membership matrix, the requests each worker served
(SVG bar charts), the nodes that saw a stopped worker leave, and the
broker cluster's coordinator. Every verdict quotes the log lines of the
node that proves it, with their time stamps."""

from __future__ import annotations

import html

from ..params.secrets import mask_text


def _e(text: object) -> str:
    return html.escape(mask_text(str(text)))


def quoted(qs: list[dict]) -> str:
    """Log lines as blockquotes: the line, then whose log it is."""
    return "".join(f"<blockquote class='log'><code>{_e(q['line'])}</code><br><span class='src'>"
                   f"{_e(q['node'])}'s {_e(q['log'])} on {_e(q['host'])}"
                   + (f", logged {_e(q['at'])}" if q.get("at") else "") + "</span></blockquote>" for q in qs)


def bar_chart(title: str, counts: dict[str, int]) -> str:
    top, bar_h = max(counts.values(), default=0) or 1, 22
    bars = "".join(
        f'<text x="0" y="{i * bar_h + 15}" font-size="12">{_e(k)}</text>'
        f'<rect x="90" y="{i * bar_h + 3}" width="{300 * n / top:.0f}" height="16" fill="#4a7fb5"/>'
        f'<text x="{95 + 300 * n / top:.0f}" y="{i * bar_h + 15}" font-size="12">{n}</text>'
        for i, (k, n) in enumerate(counts.items()))
    return (f"<svg class='spread' role='img' aria-label='{_e(title)}' width='440' height='{bar_h * len(counts) + 6}' "
            f"xmlns='http://www.w3.org/2000/svg'><title>{_e(title)}</title>{bars}</svg>")


def _by_node(qs: list[dict]) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for q in qs:
        out.setdefault(q["node"], []).append(q)
    return out


def _started(e: dict) -> str:
    rows = "".join(f"<tr class='ok'><td>{_e(node)}</td><td>started</td><td>{quoted(qs)}</td></tr>"
                   for node, qs in _by_node(e.get("quotes", [])).items())
    return ("<h3>Every node started</h3><table class='proof-started'><tr><th>node</th><th>verdict</th>"
            f"<th>its own log</th></tr>{rows}</table>")


def _membership(e: dict) -> str:
    rows = e.get("rows") or [[]]
    head = "".join(f"<th>{_e(c)}</th>" for c in rows[0])
    body = "".join("<tr>" + f"<th>{_e(r[0])}</th>" + "".join(
        f"<td class='{'ok' if c == 'joined' else ''}'>{_e(c)}</td>" for c in r[1:]) + "</tr>" for r in rows[1:])
    by_node = _by_node(e.get("quotes", []))
    lines = "".join(f"<tr><td>{_e(n)}</td><td>{quoted(qs)}</td></tr>" for n, qs in by_node.items())
    return (f"<h3>Membership, as every node logs it</h3><table class='matrix'><tr>{head}</tr>{body}</table>"
            + (f"<table class='proof-joined'><tr><th>node</th><th>its last member lines</th></tr>{lines}</table>"
               if lines else ""))


def _spread(e: dict) -> str:
    answers = ", ".join(f"{n} x {code}" for code, n in e.get("answers", {}).items())
    return (f"<div><h3>{_e(e['title'])}</h3>{bar_chart(e['title'], e.get('counts', {}))}"
            f"<p>load balancer answers: {_e(answers or 'none')}</p></div>")


def _left(e: dict) -> str:
    return (f"<h3>{_e(e['node'])} stopped: the others logged it leaving ({_e(e.get('member', ''))})</h3>"
            + (quoted(e.get("quotes", [])) or "<p>no node logged it leaving</p>"))


def _coordinator(e: dict) -> str:
    by_log, store = e.get("by_log", []), e.get("in_store", [])
    ok = len(by_log) == 1 and by_log == store[:1]
    verdict = (f"{by_log[0]} is the coordinator, by its own log and by the MB store's coordinator row" if ok else
               f"coordinator by the logs: {', '.join(by_log) or 'none'}; by the MB store: {', '.join(store) or 'none'}")
    return (f"<h3>Broker cluster (07): {_e(verdict)}</h3><p>each broker's last election line:</p>"
            + quoted(e.get("quotes", [])))


def front(evidence: list[dict]) -> str:
    """The proof section of index.html; empty when no section wrote evidence (a plan only)."""
    last: dict[str, dict] = {}
    spreads: list[dict] = []
    lefts: list[dict] = []
    for e in evidence:
        if e["kind"] == "spread":
            spreads = [s for s in spreads if s["title"] != e["title"]] + [e]
        elif e["kind"] == "left":
            lefts.append(e)
        else:
            last[e["kind"]] = e
    parts = []
    if "started" in last:
        parts.append(_started(last["started"]))
    if "membership" in last:
        parts.append(_membership(last["membership"]))
    if spreads:
        parts.append("<div class='proof'>" + "".join(_spread(s) for s in spreads) + "</div>")
    parts += [_left(e) for e in lefts[-1:]]
    if "coordinator" in last and (last["coordinator"].get("by_log") or last["coordinator"].get("in_store")):
        parts.append(_coordinator(last["coordinator"]))
    if not parts:
        return ""
    return "<h2 id='proof'>The proof: what the nodes themselves logged</h2>" + "".join(parts)
