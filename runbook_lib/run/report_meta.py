"""Who ran what, when, against which cluster: the run's metadata, kept in
``summary.json`` (``meta``) and shown by the terminal, ``summary.txt`` and
the report's front page. Read once at the start of a run and completed at
its end; nothing here touches a lab host."""

from __future__ import annotations

import getpass
import hashlib
import os
import socket
import subprocess
from datetime import datetime, timezone
from pathlib import Path

from ..core.context import ROOT

STAMP = "%Y-%m-%dT%H:%M:%SZ"


def utc_now() -> str:
    return datetime.now(timezone.utc).strftime(STAMP)


def _commit() -> str:
    """The runbook's own commit (and "+ local changes" when the work tree differs)."""
    def git(*args: str) -> str:
        r = subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True, timeout=10)
        return r.stdout.strip() if r.returncode == 0 else ""
    try:
        head = git("rev-parse", "--short=12", "HEAD")
        dirty = git("status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.SubprocessError):
        return "unknown (no git)"
    return (head or "unknown (not a git clone)") + (" + local changes" if head and dirty else "")


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return str(os.getuid())


def start(params_path: Path, params_arg: str, params, apply: bool, sections: list[str]) -> dict:  # noqa: ANN001
    """The metadata known before the first section runs (PARAMS: the loaded Params)."""
    nodes = {name: {"host": n.host, "role": n.role,
                    "product": f"{params.node_product(n).name} {params.node_product(n).version}"}
             for name, n in params.nodes.items()}
    product = params.product
    return {
        "mode": "apply" if apply else "plan only",
        "started": utc_now(), "ended": "", "seconds": 0.0,
        "runbook_commit": _commit(),
        "params_file": params_arg, "params_sha256": hashlib.sha256(params_path.read_bytes()).hexdigest(),
        "cluster": {"name": params.name, "product": product.name, "version": product.version,
                    "domain": params.cluster.domain,
                    "hosts": {name: str(h.address) for name, h in params.hosts.items()},
                    "nodes": nodes},
        "user": _user(), "machine": socket.gethostname(),
        "lab_instance": os.environ.get("RUNBOOK_LAB_INSTANCE", "") if params.lab else "",
        "sections": sections,
    }


def finish(meta: dict, seconds: float) -> dict:
    return {**meta, "ended": utc_now(), "seconds": round(seconds, 1)}


def lines(meta: dict) -> list[str]:
    """The metadata as the terminal and summary.txt show it (a few lines)."""
    if not meta:
        return []
    c = meta["cluster"]
    out = [f"{meta['mode']} run by {meta['user']}@{meta['machine']}, runbook {meta['runbook_commit']}",
           f"params {meta['params_file']} (sha256 {meta['params_sha256'][:16]}...)",
           f"cluster {c['name']}: {c['product']} {c['version']}, domain {c['domain']}, "
           f"{len(c['hosts'])} hosts, {len(c['nodes'])} nodes"
           + (f", lab instance {meta['lab_instance']}" if meta.get("lab_instance") else ""),
           f"started {meta['started']}" + (f", ended {meta['ended']} ({duration(meta['seconds'])})"
                                           if meta.get("ended") else "")]
    return out


def duration(seconds: float) -> str:
    m, s = divmod(int(round(seconds)), 60)
    return f"{m} min {s:02d} s" if m else f"{seconds:.1f} s"
