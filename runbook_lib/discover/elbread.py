"""The WSO2 ELB (documents 000/001) as discover finds it: an ELB home among
the nodes makes the load balancer `kind: elb`, its ports read from its own
axis2.xml receivers and loadbalancer.conf (group_mgt_port, tenant_range), and
the members learn it through clustering: they list it at its group_mgt_port
(000) or at another port (001: its localMemberPort; load_balancer.registration_port)."""

from __future__ import annotations

import posixpath
from collections import Counter
from typing import Any

from ..configedit.lbconf import read_lbconf
from ..configedit.properties import read_properties
from .found import Found

Facts = Any  # assemble.Facts: not imported, as assemble.py builds on this module


def majority(values: list) -> Found | None:
    """As assemble.majority: the value most of VALUES have, the first one's provenance."""
    values = [v for v in values if v is not None and v.value not in ("", None)]
    if not values:
        return None
    top, _ = Counter(v.value for v in values).most_common(1)[0]
    return next(v for v in values if v.value == top)

PORT = "/axisconfig/transportReceiver[@name='{}']/parameter[@name='port']"
ELB_FILES = ("axis2", "carbon")  # what an ELB home must have for discover; the rest the ELB may lack


def _lbconf(f) -> tuple[dict, str]:  # noqa: ANN001 - NodeFacts
    """(loadbalancer.conf as a dict, its path) of an ELB home, read with the other files."""
    path = posixpath.join(f.home.path, f.spec.conf("lbconf"))
    raw = f.raw.get("lbconf")
    try:
        return (read_lbconf(raw) if raw else {}), path
    except Exception:  # noqa: BLE001 - a file the ELB's parser would refuse: nothing taken from it
        return {}, path


def _domains(conf: dict, facts: Facts) -> list[dict]:
    """The cluster's own domain block(s) (the shipped samples' other domains left aside)."""
    dom = majority([f.param("domain") for f in facts.by_role("manager", "worker", "member").values()])
    return [d for svc in (conf.get("services") or {}).values() if isinstance(svc, dict)
            for name, d in (svc.get("domains") or {}).items() if isinstance(d, dict) and dom and name == dom.value]


def group_mgt_port(facts: Facts) -> Found | None:
    for f in facts.by_role("elb").values():
        conf, path = _lbconf(f)
        ports = [d.get("group_mgt_port") for d in _domains(conf, facts) if str(d.get("group_mgt_port", "")).isdigit()]
        if ports:
            return Found(int(ports[0]), f.home.host, path, why="loadbalancer.conf group_mgt_port")
    return None


def elb_ports(facts: Facts) -> set[tuple[str, str]]:
    """(address, port) at which the cluster's nodes may list an ELB: its group_mgt_port or localMemberPort."""
    out = set()
    gmp = group_mgt_port(facts)
    for n, f in facts.by_role("elb").items():
        address = facts.address_of(facts.node_host[n])
        lmp = f.param("localMemberPort")
        out |= {(address, str(p)) for p in ([gmp.value] if gmp else []) + ([lmp.value] if lmp else [])}
    return out


def elb_section(facts: Facts) -> dict:
    name, f = next(iter(facts.by_role("elb").items()))
    out: dict = {"kind": Found("elb", f.home.host, f.home.path, why="a WSO2 ELB home")}
    ax = f.files["axis2"]
    for key, scheme in (("http_port", "http"), ("https_port", "https")):
        port = ax.one(PORT.format(scheme)) if ax.ok else None
        if port is not None and port.value.isdigit():
            out[key] = Found(int(port.value), port.host, port.file, port.line)
    conf, path = _lbconf(f)
    ranges = [d.get("tenant_range") for d in _domains(conf, facts) if isinstance(d.get("tenant_range"), str)]
    if ranges:
        out["tenant_range"] = Found(ranges[0], f.home.host, path, why="loadbalancer.conf tenant_range")
    gmp = group_mgt_port(facts)
    if gmp is not None:
        out["group_mgt_port"] = gmp
    address = facts.address_of(facts.node_host[name])
    cluster = facts.by_role("manager", "worker", "member")
    taken = {(gmp.value if gmp else None)} | {str(n.param("localMemberPort").value) for m, n in cluster.items()
                                              if facts.node_host[m] == facts.node_host[name] and n.param("localMemberPort")}
    listed = [p for g in cluster.values() for h, p in g.members()
              if h.value == address and p.value not in {str(t) for t in taken}]
    timeout = read_properties(f.raw["passthru"]).get("http.socket.timeout", "") if f.raw.get("passthru") else ""
    if timeout.isdigit():  # 001 step 4 (E16: milliseconds); absent: left as shipped
        out["socket_timeout_ms"] = Found(int(timeout), f.home.host, posixpath.join(f.home.path, f.spec.conf("passthru")),
                                         why="passthru-http.properties http.socket.timeout")
    reg = majority(listed)
    if reg is not None and reg.value.isdigit():
        out["registration_port"] = Found(int(reg.value), reg.host, reg.file, reg.line,
                                         why="the port the members list the ELB at")
    return out
