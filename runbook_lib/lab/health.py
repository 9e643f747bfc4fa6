"""Is the lab up, and is every service of it healthy? (`runbook lab status`)"""

from __future__ import annotations

from pathlib import Path

from ..params import Params
from ..textview import text_table
from . import net, services
from .paths import lab_paths, read_state

SERVICE_PORTS = {"sshd": 22, "mariadb": 3306, "nginx": 80, "svnserve": 3690}


def _health(service: str, address: str) -> bool:
    port = SERVICE_PORTS[service]
    if service == "sshd":
        return services.banner(address, port).startswith(b"SSH-")
    if service == "nginx":
        import http.client
        try:
            c = http.client.HTTPConnection(address, port, timeout=2)
            c.request("GET", "/lab-health")
            return c.getresponse().status == 200
        except OSError:
            return False
    return services.port_open(address, port)


def status(p: Params) -> dict:
    """Every host and service with its health, plus where the keys are."""
    paths = lab_paths(p)
    state = read_state(paths) or {"hosts": {}}
    out = {"lab_dir": str(paths.root), "up": bool(state["hosts"]),
           "secrets_file": state.get("secrets_file", str(Path(p.secrets_file or paths.secrets))),
           "known_hosts": str(paths.known_hosts), "hosts": {}}
    namespaces = set(net.lab_namespaces())
    healthy = bool(state["hosts"])
    for name, h in sorted(p.hosts.items()):
        hs = state["hosts"].get(name, {})
        svc = {}
        for service, pid in sorted(hs.get("services", {}).items()):
            ok = services.alive(pid) and _health(service, str(h.address))
            svc[service] = {"pid": pid, "healthy": ok}
            healthy = healthy and ok
        if name not in {n.removeprefix(net.PREFIX) for n in namespaces}:
            healthy = False
        out["hosts"][name] = {
            "address": str(h.address), "roles": list(h.roles), "namespace": net.ns_name(name),
            "ssh": {"user": h.ssh_user, "port": h.ssh_port, "key": str(paths.client_key),
                    "known_hosts": str(paths.known_hosts)},
            "services": svc,
            "products": [{"node": n, "home": v.home, "dist": p.node_product(v).dist}
                         for n, v in sorted(p.nodes.items()) if v.host == name],
        }
    out["healthy"] = healthy
    return out


def format_status(st: dict) -> str:
    rows = [("HOST", "ADDRESS", "ROLES", "SERVICES")]
    for name, h in st["hosts"].items():
        roles = ",".join(h["roles"]) + ("".join(f" {x['node']}" for x in h["products"]) and
                                        " (" + " ".join(x["node"] for x in h["products"]) + ")")
        svcs = " ".join(f"{s}:{'up' if v['healthy'] else 'DOWN'}" for s, v in h["services"].items()) or "-"
        rows.append((name, h["address"], roles, svcs))
    lines = text_table(rows)
    lines.append(f"lab {'healthy' if st['healthy'] else 'NOT healthy' if st['up'] else 'down'}: {st['lab_dir']}")
    return "\n".join(lines)
