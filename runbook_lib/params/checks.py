"""Rules that need more than one field: references between sections, port
clashes on a shared host, and the documents' own advice (ERRATA E9, E10)."""

from __future__ import annotations

import ipaddress
from collections import defaultdict
from pathlib import Path

from ..errors import Problem
from .model import SQL_IDENT_RE, Params


def _is_ip(value: str) -> bool:
    try:
        ipaddress.IPv4Address(value)
        return True
    except ValueError:
        return False


def _inside_git_repo(path: Path) -> bool:
    for parent in [path, *path.parents]:
        if (parent / ".git").exists():
            return True
    return False


def cross_checks(p: Params, file: str, base: Path) -> list[Problem]:
    out: list[Problem] = []

    def err(field: str, message: str, fix: str) -> None:
        out.append(Problem(file, field, message, fix))

    def warn(field: str, message: str, fix: str) -> None:
        out.append(Problem(file, field, message, fix, level="warning"))

    def host_ref(field: str, name: str | None, role: str | None = None) -> None:
        if name is None:
            return
        if name not in p.hosts:
            err(field, f"no host named `{name}`", f"use one of {sorted(p.hosts)} or add it under hosts:")
        elif role and role not in p.hosts[name].roles:
            err(field, f"host `{name}` does not have the role `{role}`",
                f"add `{role}` to hosts.{name}.roles")

    for hname, h in p.hosts.items():
        host_ref(f"hosts.{hname}.jump", h.jump)
    addresses: dict[str, str] = {}
    for hname, h in p.hosts.items():
        a = str(h.address)
        if a in addresses:
            err(f"hosts.{hname}.address", f"{a} is also the address of `{addresses[a]}`",
                "give every host its own address")
        addresses[a] = hname

    per_host: dict[str, list[str]] = defaultdict(list)
    from .derive import node_offset  # local import: derive imports model only
    for nname, n in p.nodes.items():
        field = f"nodes.{nname}"
        host_ref(f"{field}.host", n.host, "node")
        per_host[n.host].append(nname)
        prod = p.node_product(n)
        if n.local_member_host is not None and not _is_ip(n.local_member_host):
            err(f"{field}.local_member_host", f"{n.local_member_host!r} is not an IP address (ERRATA E10)",
                "use an IP address the other members can reach, or leave it out to use the host's address")
        if n.role == "worker" and n.sub_domain not in (None, "worker"):
            err(f"{field}.sub_domain", f"a worker's subDomain must be `worker`, not `{n.sub_domain}` (ERRATA E9)",
                "set sub_domain: worker or leave it out")
        if n.role == "manager" and n.sub_domain not in (None, "mgt"):
            err(f"{field}.sub_domain", f"a manager's subDomain must be `mgt`, not `{n.sub_domain}`",
                "set sub_domain: mgt or leave it out")
        if n.role == "broker" and prod.name != "ei":
            err(f"{field}.role", f"the broker role needs the EI product, not `{prod.name}`",
                "set product: {name: ei, version: 6.1.1} for this node")
        if n.role == "elb" and prod.name != "elb":
            err(f"{field}.product", "an elb node must run the ELB product", "set product: {name: elb, version: 2.0.5}")
        if n.role != "elb" and prod.name == "elb":
            err(f"{field}.role", "the ELB product can only take the role `elb`", "set role: elb")

    for hname, names in per_host.items():
        for attr, label in (("local_member_port", "localMemberPort"), ("offset", "port offset")):
            seen: dict[int, str] = {}
            for nname in names:
                n = p.nodes[nname]
                value = n.local_member_port if attr == "local_member_port" else node_offset(n)
                if value in seen:
                    err(f"nodes.{nname}.{attr}",
                        f"same {label} {value} as `{seen[value]}` on host `{hname}` (ERRATA E10)",
                        f"give every node on `{hname}` its own {label}")
                seen[value] = nname

    cluster = [n for n, v in p.nodes.items() if v.role in ("manager", "worker", "member")]
    brokers = [n for n, v in p.nodes.items() if v.role == "broker"]
    for group, label in ((cluster, "cluster"), (brokers, "broker")):
        if len(group) > 1 and sum(p.nodes[n].well_known for n in group) < 2:
            warn("nodes", f"fewer than two well-known members in the {label} nodes",
                 "mark at least two nodes `well_known: true` so one can restart without the others")
    workers = [n for n, v in p.nodes.items() if v.role == "worker"]
    managers = [n for n, v in p.nodes.items() if v.role == "manager"]
    if workers and len(managers) != 1:
        err("nodes", f"{len(managers)} manager nodes for {len(workers)} workers",
            "a worker/manager cluster has exactly one node with role: manager")

    lb = p.load_balancer
    if lb.kind == "nginx":
        if lb.host is None:
            err("load_balancer.host", "nginx needs a host", "set load_balancer.host to the LB host's name")
        host_ref("load_balancer.host", lb.host, "load_balancer")
        if lb.affinity == "sticky":
            warn("load_balancer.affinity", "`sticky` needs NGINX Plus or nginx 1.29.6+ (ERRATA E15)",
                 "use ip_hash on older community nginx")
    if lb.kind == "elb" and not any(v.role == "elb" for v in p.nodes.values()):
        err("load_balancer.kind", "kind elb but no node has role: elb", "add the ELB node under nodes:")

    if p.database:
        host_ref("database.host", p.database.host, "database")
        names = p.database.names
        for field, value in [("user_store", names.user_store), ("shared_registry", names.shared_registry),
                             ("mb_store", names.mb_store)] + \
                            [(f"local_registry.{k}", v) for k, v in names.local_registry.items()]:
            if value is not None and not SQL_IDENT_RE.match(value):
                err(f"database.names.{field}", f"{value!r} is not a safe SQL identifier",
                    "use letters, digits and _ only (at most 64)")
        for node in names.local_registry:
            if node not in p.nodes:
                err(f"database.names.local_registry.{node}", f"no node named `{node}`",
                    f"use one of {sorted(p.nodes)}")
        if brokers and not names.mb_store:
            err("database.names.mb_store", "broker nodes need a message-broker store database",
                "set mb_store: WSO2_MB_DB (or your name)")
    elif any(v.role != "elb" for v in p.nodes.values()):
        warn("database", "no database section: nodes keep their embedded H2 databases",
             "add a database: section for a real cluster")

    ds = p.deployment_sync
    if ds.kind == "svn":
        host_ref("deployment_sync.host", ds.host, "svn")
        for attr in ("url", "user", "password"):
            if getattr(ds, attr) is None:
                err(f"deployment_sync.{attr}", "required for the SVN deployment synchronizer",
                    f"add deployment_sync.{attr}")

    if p.secrets_file:
        sf = (base / p.secrets_file).resolve() if not Path(p.secrets_file).is_absolute() else Path(p.secrets_file)
        if _inside_git_repo(sf.parent) and _inside_git_repo(base):
            err("secrets_file", f"{p.secrets_file} is inside a git repository",
                "keep secrets outside the repository, e.g. ~/.config/wso2-runbook/secrets.env")

    if p.lab:
        if p.lab.gateway not in p.lab.subnet:
            err("lab.gateway", f"{p.lab.gateway} is outside {p.lab.subnet}", "pick an address inside lab.subnet")
        for hname, h in p.hosts.items():
            if h.address not in p.lab.subnet:
                err(f"hosts.{hname}.address", f"{h.address} is outside the lab subnet {p.lab.subnet}",
                    "pick an address inside lab.subnet")
            if h.address == p.lab.gateway:
                err(f"hosts.{hname}.address", "same address as lab.gateway", "pick another address")
    return out
