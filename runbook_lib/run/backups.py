"""The backups runs leave on the hosts (``<file>.bak.<run id>``): list those
older than the params' ``backup_retention_days``, and delete them only when
asked. A backup is what `runbook rollback` restores from, so nothing is ever
pruned implicitly.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timezone

from ..params import Params
from ..remote.host import Host

BAK_RE = re.compile(r"\.bak\.(\d{8}T\d{6}Z)$")


@dataclass(frozen=True)
class Backup:
    host: str
    path: str
    size: int
    run_id: str
    age_days: float


def _roots(p: Params, host: str) -> list[str]:
    """Where the runbook writes on HOST: product homes, nginx, /etc/hosts, the SVN repository."""
    roots = [n.home for n in p.nodes.values() if n.host == host]
    lb = p.load_balancer
    if lb.kind == "nginx" and lb.host == host:
        roots += [lb.conf_dir, lb.ssl_dir]
    ds = p.deployment_sync
    if ds.kind == "svn" and ds.host == host and ds.repo_path:
        roots.append(ds.repo_path)
    return roots


def find_backups(p: Params, hosts: dict[str, Host], now: datetime | None = None) -> list[Backup]:
    now = now or datetime.now(timezone.utc)
    out: list[Backup] = []
    for name, h in hosts.items():
        roots = " ".join(f"'{r}'" for r in _roots(p, name))  # params paths hold no quotes (sanity.py)
        cmd = ("{ find " + roots + " -name '*.bak.*T*Z' -printf '%s\\t%p\\n' 2>/dev/null; " if roots else "{ ") + \
            "find /etc -maxdepth 1 -name 'hosts.bak.*T*Z' -printf '%s\\t%p\\n' 2>/dev/null; } || true"
        res = h.run(cmd, sudo=True)
        for line in res.stdout.splitlines():
            size, _, path = line.partition("\t")
            m = BAK_RE.search(path)
            if not m:
                continue
            made = datetime.strptime(m.group(1), "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc)
            out.append(Backup(name, path, int(size), m.group(1), (now - made).total_seconds() / 86400))
    return sorted(out, key=lambda b: (b.host, b.path))


def backups_report(p: Params, hosts: dict[str, Host], prune: bool = False, now: datetime | None = None) -> str:
    found = find_backups(p, hosts, now)
    keep = p.backup_retention_days
    old = [b for b in found if b.age_days > keep]
    lines = [f"{len(found)} backup(s) on {len(hosts)} host(s); {len(old)} older than backup_retention_days "
             f"({keep} days):"]
    for b in old:
        lines.append(f"  {b.host}:{b.path}  ({b.size} bytes, {b.age_days:.0f} days old, run {b.run_id})")
    if old and prune:
        for b in old:
            hosts[b.host].check("rm -f %s", b.path, sudo=True)
        lines.append(f"pruned {len(old)} backup(s); runs {sorted({b.run_id for b in old})} can no longer be rolled back")
    elif old:
        lines.append("Nothing deleted. Fix: run again with --prune to delete them (those runs can then no longer "
                     "be rolled back)")
    return "\n".join(lines)
