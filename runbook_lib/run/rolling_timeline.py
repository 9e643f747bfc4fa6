"""The load's timeline beside the rollout's (issue 21): per second, the
requests answered and failed, and which node was out of the load balancer
when (from the journal: a batch's drain begun to its return done). A text
view for the terminal and the benchmark, an SVG chart for the run folder."""

from __future__ import annotations

import html
from datetime import datetime

from ..lab.loadgen import LoadResult


def _t(entry: dict) -> float:
    return datetime.fromisoformat(entry["at"]).timestamp()


def out_intervals(entries: list[dict], t0: float) -> list[tuple[str, float, float]]:
    """(nodes, from, to) in seconds since T0 (wall clock): each batch out of the load balancer."""
    spans, begun = [], {}
    for e in entries:
        if e.get("event") == "begin" and e.get("step") == "drain":
            begun[e["batch"]] = _t(e)
        elif e.get("event") == "done" and e.get("step") == "return" and e["batch"] in begun:
            spans.append((", ".join(e.get("nodes", [])), begun.pop(e["batch"]) - t0, _t(e) - t0))
    return spans


def rollout_window(entries: list[dict], t0: float) -> tuple[float, float]:
    """From the first batch's drain to the last batch's proof, in seconds since T0."""
    times = [_t(e) - t0 for e in entries if e.get("step") in ("drain", "prove") and e.get("event") in ("begin", "done")]
    return (min(times), max(times)) if times else (0.0, 0.0)


def steps_at(entries: list[dict], t0: float) -> list[tuple[float, float, str, str]]:
    """(from, to, nodes, step) of every step the journal shows done, in seconds since T0."""
    out, begun = [], {}
    for e in entries:
        key = (e.get("batch"), e.get("step"))
        if e.get("event") == "begin":
            begun[key] = _t(e) - t0
        elif e.get("event") == "done" and key in begun:
            out.append((begun.pop(key), _t(e) - t0, ", ".join(e.get("nodes", [])), e["step"]))
    return out


def explain(load: LoadResult, entries: list[dict], limit: int = 20) -> list[str]:
    """Each failed request with what the rollout was doing then (on the ELB
    layouts, which have no drain: a node stopping while a request was in
    flight to it, or the ELB still routing to a member that had just left)."""
    spans, lines = steps_at(entries, load.started_at), []
    for s in load.failures()[:limit]:
        end = s.t + s.ms / 1000
        doing = [f"{nodes}: {step}" for a, b, nodes, step in spans if a <= end and b >= s.t and nodes]
        lines.append(f"failed at {s.t:.2f}s after {s.ms:.0f} ms: {s.status or 'no answer'} {s.error} — "
                     + ("; ".join(doing) or "no node step under way"))
    if load.failed > limit:
        lines.append(f"… and {load.failed - limit} more")
    return lines


def text(load: LoadResult, entries: list[dict], step: int = 5) -> str:
    spans = out_intervals(entries, load.started_at)
    rows = ["  second   ok  failed  out of the load balancer"]
    per = load.per_second()
    for start in range(0, int(load.seconds) + 1, step):
        ok = sum(o for s, o, _ in per if start <= s < start + step)
        bad = sum(b for s, _, b in per if start <= s < start + step)
        out = [n for n, a, b in spans if a < start + step and b > start]
        if ok or bad or out:
            rows.append(f"  {start:5d}  {ok:5d}  {bad:6d}  {', '.join(out)}")
    return "\n".join(rows)


def svg(load: LoadResult, entries: list[dict], width: int = 760) -> str:
    """Requests per second (answered blue, failed red) over the nodes' out intervals (grey bands)."""
    per, secs = load.per_second(), max(1.0, load.seconds)
    top = max((o + b for _, o, b in per), default=1) or 1
    x = lambda s: 40 + (width - 50) * s / secs  # noqa: E731 - a scale
    h, parts, bands = 160, [], []  # the bands drawn over the bars (a steady load fills every second)
    for i, (names, a, b) in enumerate(out_intervals(entries, load.started_at)):
        bands.append(f'<rect x="{x(a):.1f}" y="10" width="{max(1.0, x(b) - x(a)):.1f}" height="{h - 30}" '
                     f'fill="#57606a" opacity="0.35"/><text x="{x(a):.1f}" y="{h - 6 - 10 * (i % 2)}" '
                     f'font-size="10">{html.escape(names)} out</text>')
    bar = (width - 50) / secs
    for s, ok, bad in per:
        y_ok = (h - 30) * ok / top
        y_bad = (h - 30) * bad / top
        parts.append(f'<rect x="{x(s):.1f}" y="{h - 20 - y_ok:.1f}" width="{max(1.0, bar - 1):.1f}" '
                     f'height="{y_ok:.1f}" fill="#4a7fb5"/>')
        if bad:
            parts.append(f'<rect x="{x(s):.1f}" y="{h - 20 - y_ok - y_bad:.1f}" width="{max(1.0, bar - 1):.1f}" '
                         f'height="{y_bad:.1f}" fill="#cf222e"/>')
    title = html.escape(f"{load.sent} requests, {load.failed} failed; p50 {load.percentile(50):.1f} ms, "
                        f"p95 {load.percentile(95):.1f} ms, p99 {load.percentile(99):.1f} ms")
    return (f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{h + 20}'>"
            f"<text x='40' y='{h + 14}' font-size='11'>{title} (requests per second; grey: node out)</text>"
            + "".join(parts + bands) + "</svg>")
