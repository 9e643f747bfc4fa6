"""Is the lab up, what built it, and is every service of it healthy?
(`runbook lab status`). Read from the lab's own state file, never from the
params alone, so it describes the lab that is actually up."""

from __future__ import annotations

import hashlib
import http.client
from pathlib import Path

from ..core.context import ROOT
from ..params import Params
from ..core.textview import text_table
from . import net, services
from .paths import lab_paths, read_state

SERVICE_PORTS = {"sshd": 22, "mariadb": 3306, "nginx": 80, "svnserve": 3690}


def _health(service: str, address: str) -> bool:
    port = SERVICE_PORTS[service]
    if service == "sshd":
        return services.banner(address, port).startswith(b"SSH-")
    if service == "nginx":
        try:
            c = http.client.HTTPConnection(address, port, timeout=2)
            c.request("GET", "/lab-health")
            return c.getresponse().status == 200
        except OSError:
            return False
    return services.port_open(address, port)


def params_hash(path: Path, distributions: dict[str, Path]) -> str:
    h = hashlib.sha256(path.read_bytes())
    for name in sorted(distributions):
        h.update(f"{name}={distributions[name].resolve()}".encode())
    return h.hexdigest()[:16]


def _shown(path: str) -> str:
    """A params path as shown: relative to the project when inside it."""
    try:
        return str(Path(path).resolve().relative_to(ROOT))
    except ValueError:
        return path


def _matches(state: dict, p: Params, params_file: Path | None) -> bool:
    """Was the lab in STATE built from P (and from PARAMS_FILE, when given)?"""
    if {n: hs["address"] for n, hs in state["hosts"].items()} != {n: str(h.address) for n, h in p.hosts.items()}:
        return False
    if params_file is None:
        return True
    dists = {k: Path(v) for k, v in state.get("distributions", {}).items()}
    return params_file.exists() and state.get("params_hash") == params_hash(params_file, dists)


def status(p: Params, params_file: Path | None = None) -> dict:
    """The lab that is up in P's lab folder, as its own state file records
    it: its hosts only, the params file that built it, each service's health.
    ``healthy`` means up, every service answering, and built from P (and
    PARAMS_FILE, when given; ``matches`` says that part alone)."""
    paths = lab_paths(p)
    state = read_state(paths) or {"hosts": {}}
    built = state.get("params_file")
    out = {"lab_dir": str(paths.root), "up": bool(state["hosts"]),
           "params_file": _shown(built) if built else None,
           "matches": bool(state["hosts"]) and _matches(state, p, params_file),
           "secrets_file": state.get("secrets_file", str(Path(p.secrets_file or paths.secrets))),
           "known_hosts": str(paths.known_hosts), "hosts": {}}
    namespaces = {n.removeprefix(net.names().prefix) for n in net.lab_namespaces()}
    healthy = bool(state["hosts"])
    # node name -> host, home, dist; a lab made before nodes were recorded names its homes by product
    nodes = state.get("nodes") or {f"{x['dist']}@{x['host']}:{x['home']}": x for x in state.get("homes", [])}
    for name, hs in sorted(state["hosts"].items()):
        svc = {}
        for service, pid in sorted(hs.get("services", {}).items()):
            ok = services.alive(pid) and _health(service, hs["address"])
            svc[service] = {"pid": pid, "healthy": ok}
            healthy = healthy and ok
        if name not in namespaces:
            healthy = False
        out["hosts"][name] = {
            "address": hs["address"], "roles": list(hs["roles"]), "namespace": hs["namespace"],
            "ssh": {"user": hs["ssh_user"], "port": hs.get("ssh_port", 22), "key": str(paths.client_key),
                    "known_hosts": str(paths.known_hosts)},
            "services": svc,
            "products": [{"node": n.split("@")[0], "home": v["home"], "dist": v["dist"]}
                         for n, v in sorted(nodes.items()) if v["host"] == name],
        }
    out["healthy"] = healthy and out["matches"]
    return out


def format_status(st: dict, asked: str | None = None) -> str:
    """The status table. ASKED: the params file the operator named, if any."""
    if not st["up"]:
        return f"no lab is up ({st['lab_dir']} holds no lab state)"
    lines = [f"lab built from {st['params_file']}: {st['lab_dir']}"]
    rows = [("HOST", "ADDRESS", "ROLES", "SERVICES")]
    for name, h in st["hosts"].items():
        roles = ",".join(h["roles"]) + ("".join(f" {x['node']}" for x in h["products"]) and
                                        " (" + " ".join(x["node"] for x in h["products"]) + ")")
        svcs = " ".join(f"{s}:{'up' if v['healthy'] else 'DOWN'}" for s, v in h["services"].items()) or "-"
        rows.append((name, h["address"], roles, svcs))
    lines += text_table(rows)
    services_up = all(v["healthy"] for h in st["hosts"].values() for v in h["services"].values())
    if not st["matches"]:
        lines.append(f"lab {'healthy' if services_up else 'NOT healthy'}, but NOT built from "
                     f"{asked or 'these params'}. Fix: `runbook lab up {asked or 'PARAMS'}` rebuilds it from them")
    else:
        lines.append(f"lab {'healthy' if st['healthy'] else 'NOT healthy'}")
    return "\n".join(lines)
