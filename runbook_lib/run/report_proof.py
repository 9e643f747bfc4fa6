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


def _matrix(e: dict) -> str:
    rows = e.get("rows") or [[]]
    head = "".join(f"<th>{_e(c)}</th>" for c in rows[0])
    body = "".join("<tr>" + f"<th>{_e(r[0])}</th>" + "".join(
        f"<td class='{'ok' if c == 'joined' else ''}'>{_e(c)}</td>" for c in r[1:]) + "</tr>" for r in rows[1:])
    return f"<div><h3>Membership, as every node logs it</h3><table class='matrix'><tr>{head}</tr>{body}</table></div>"


def _spread(e: dict) -> str:
    answers = ", ".join(f"{n} x {code}" for code, n in e.get("answers", {}).items())
    return (f"<div><h3>{_e(e['title'])}</h3>{bar_chart(e['title'], e.get('counts', {}))}"
            f"<p>load balancer answers: {_e(answers or 'none')}</p></div>")


def _verdicts(last: dict[str, dict], lefts: list[dict]) -> list[tuple[str, str, list[dict]]]:
    """(verdict, node, the quotes behind it), in the order the test reached them."""
    out: list[tuple[str, str, list[dict]]] = []
    for q in last.get("started", {}).get("quotes", []):
        out.append(("started", q["node"], [q]))
    joined: dict[str, list[dict]] = {}
    for q in last.get("membership", {}).get("quotes", []):
        joined.setdefault(q["node"], []).append(q)
    out += [("sees the others as members", node, qs) for node, qs in joined.items()]
    for e in lefts[-1:]:
        out += [(f"saw {e['node']} leave", q["node"], [q]) for q in e.get("quotes", [])]
    c = last.get("coordinator", {})
    out += [("broker: taken into the cluster", q["node"], [q]) for q in c.get("joined", [])]
    for q in c.get("quotes", []):
        role = "coordinator" if q["node"] in c.get("by_log", []) else "not the coordinator"
        out.append((f"broker: {role}" + (" (and in the MB store)" if q["node"] in c.get("in_store", []) else ""),
                    q["node"], [q]))
    return out


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
    visuals = ([_matrix(last["membership"])] if "membership" in last else []) + [_spread(s) for s in spreads]
    rows = "".join(f"<tr class='ok'><td>{_e(v)}</td><td>{_e(node)}</td><td>{quoted(qs)}</td></tr>"
                   for v, node, qs in _verdicts(last, lefts))
    if not visuals and not rows:
        return ""
    return ("<h2 id='proof'>The proof: what the nodes themselves logged</h2>"
            + (f"<div class='proof'>{''.join(visuals)}</div>" if visuals else "")
            + (f"<table id='verdicts'><tr><th>verdict</th><th>node</th><th>the node's own log line</th></tr>{rows}"
               "</table>" if rows else ""))
