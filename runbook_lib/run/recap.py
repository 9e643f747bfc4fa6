"""The per-host recap at the end of a run (what Ansible users look for
first): for each host, checks that passed, changes made (or to make), and
checks that failed, counted from the run record (``record.jsonl``)."""

from __future__ import annotations

from collections import Counter


def _hosts(field: str) -> list[str]:
    """A check's host field: one host, or several joined by ", " (a check that reads them all)."""
    return [h.strip() for h in field.split(",") if h.strip()] or ["-"]


def per_host(entries: list[dict], apply: bool, names: dict[str, str] | None = None) -> dict[str, Counter]:
    """host -> Counter(ok, changed, to_change, failed), hosts in first-seen order; a check made
    from an address (the load balancer's, say) counts for the host NAMES gives it (address -> name)."""
    names = names or {}
    out: dict[str, Counter] = {}
    for e in entries:
        if e.get("type") == "report" and e.get("applied") == apply:
            for c in e.get("changes", []):
                out.setdefault(c.get("host") or "-", Counter())["changed"] += 1
        elif e.get("type") == "checks":
            for r in e.get("rows", []):
                key = {"ok": "ok", "FAIL": "failed", "to change": "to_change"}.get(r.get("state", ""), "ok")
                for h in _hosts(r.get("host", "")):
                    out.setdefault(names.get(h, h), Counter())[key] += 1
    return out


def lines(hosts: dict[str, dict], apply: bool) -> list[str]:
    """`node206  ok=120  changed=17  failed=0`, one line per host (plan only: `to change` too)."""
    if not hosts:
        return []
    width = max(len(h) for h in hosts)
    out = ["per host:"]
    for h, n in hosts.items():
        cols = [f"ok={n.get('ok', 0):<4}", f"{'changed' if apply else 'would_change'}={n.get('changed', 0):<3}"]
        if not apply:
            cols.append(f"to_change={n.get('to_change', 0):<3}")
        cols.append(f"failed={n.get('failed', 0)}")
        out.append(f"  {h:<{width}}  " + "  ".join(cols))
    return out
