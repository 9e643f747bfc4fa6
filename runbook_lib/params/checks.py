"""Rules that need more than one field: references between sections, port
clashes on a shared host, and the documents' own advice (ERRATA E9-E15).

Rules about one field or one node live in ``model.py`` (so they are reported
together with the structural problems); ``load.py`` runs these once the
structure is valid.
"""

from __future__ import annotations

from collections import defaultdict
from ipaddress import IPv4Address
from pathlib import Path

from ..core.errors import Problem, RunbookError
from ..lab.homes import nearest_skeleton
from ..products import SPECS, line_spec, role_allowed, specs_for_role
from .checks_services import SERVICE_RULES
from .derive import layout, node_offset, node_ports
from .findings import Report
from .model import Params

SVN_PORT = 3690


def _role_problem(field: str, product: str, role: str) -> tuple[str, str, str]:
    """A node whose product line has no profile for its role: either the role
    belongs to another line (a broker needs EI), or the product is one
    dedicated to other roles (the ELB product only takes `elb`)."""
    line, serving = line_spec(product), specs_for_role(role)
    if len({s.product for s in serving}) == 1:
        other = serving[0]
        fix = f"set product: {{name: {other.product}, version: {other.major}.x.y}} for this node"
        dedicated = all(set(s.roles) == {role} for s in SPECS if s.product == other.product)
        if dedicated:  # the node is meant to be that product
            return f"{field}.product", f"an {role} node must run the {other.short} product, not `{product}`", fix
        return f"{field}.role", f"the {role} role needs the {other.short} product, not `{product}`", fix
    roles = sorted({r for s in SPECS if s.product == product for r in s.roles})
    return (f"{field}.role", f"the {line.short} product can only take the role "
            + " or ".join(f"`{r}`" for r in roles) + f", not `{role}`", f"set role: {roles[0]}")


def cross_checks(p: Params, file: str, base: Path) -> list[Problem]:
    """Every rule, in the order the problems are reported."""
    r = Report(p, file)
    for rule in (_hosts, _nodes, _member_hosts, _ports, _roles):
        rule(r)
    for service_rule in SERVICE_RULES:
        service_rule(r, base)
    return r.out


def _hosts(r: Report) -> None:
    """Jump hosts that exist and do not loop; one address per host."""
    p, err, host_ref = r.p, r.err, r.host_ref
    # --- hosts -------------------------------------------------------------
    for hname, h in p.hosts.items():
        host_ref(f"hosts.{hname}.jump", h.jump)
        if h.jump == hname:
            err(f"hosts.{hname}.jump", "a host cannot be its own jump host", "remove jump or name another host")
        elif h.jump in p.hosts:
            seen, cur = {hname}, h.jump
            while cur is not None and cur in p.hosts and cur not in seen:
                seen.add(cur)
                cur = p.hosts[cur].jump
            if cur == hname:
                err(f"hosts.{hname}.jump", f"the jump hosts of `{hname}` lead back to it",
                    "break the loop: one host in the chain must be reachable directly")
    addresses: dict[str, str] = {}
    for hname, h in p.hosts.items():
        a = str(h.address)
        if a in addresses:
            err(f"hosts.{hname}.address", f"{a} is also the address of `{addresses[a]}`",
                "give every host its own address")
        addresses[a] = hname


def _nodes(r: Report) -> None:
    """Each node: its host, a role its product line has, a version the lab can build."""
    p, err, host_ref = r.p, r.err, r.host_ref
    # --- nodes -------------------------------------------------------------
    for nname, n in p.nodes.items():
        field = f"nodes.{nname}"
        host_ref(f"{field}.host", n.host, "node")
        prod = p.node_product(n)
        if role_allowed(prod.name, n.role) is None:  # which lines serve which roles: products.py
            err(*_role_problem(field, prod.name, n.role))
        if p.lab:  # any version of a line the lab has a skeleton of (the nearest one is used)
            try:
                nearest_skeleton(prod.name, prod.version)
            except RunbookError as e:
                err(f"{field}.product" if n.product else "product", e.message, e.fix)
        if p.lab and not n.home.startswith("/opt/"):
            err(f"{field}.home", f"{n.home} is not under /opt, where the lab installs product homes",
                "put the product home under /opt/, e.g. /opt/wso2/manager/wso2ei-6.1.1")
        if p.lab and n.local_member_host is not None and IPv4Address(n.local_member_host) not in p.lab.subnet:
            err(f"{field}.local_member_host", f"{n.local_member_host} is outside the lab subnet {p.lab.subnet}",
                "leave it out to use the host's address")


def _member_hosts(r: Report) -> None:
    """A node's localMemberHost is an address of its own host (E10): one that is
    another host's sends the other members to the wrong machine, where nothing of
    this node listens, so it never joins (and could be taken for that host's nodes)."""
    owner = {str(h.address): hname for hname, h in r.p.hosts.items()}
    for nname, n in r.p.nodes.items():
        other = owner.get(n.local_member_host or "")
        if other is not None and other != n.host and n.host in r.p.hosts:
            r.err(f"nodes.{nname}.local_member_host",
                  f"{n.local_member_host} is the address of host `{other}`, but the node runs on `{n.host}`: the "
                  "other members would look for it there (ERRATA E10)",
                  f"leave it out to use {n.host}'s address ({r.p.hosts[n.host].address}), or set host: {other}")


def _ports(r: Report) -> None:
    """On each host: distinct localMemberPorts, Offsets, listening ports and conf dirs (E10)."""
    p, err = r.p, r.err
    per_host: dict[str, list[str]] = defaultdict(list)
    for nname, n in p.nodes.items():
        if n.host in p.hosts:
            per_host[n.host].append(nname)
    for hname, names in per_host.items():
        # E10: localMemberPort is not shifted by the Offset; the Offset shifts everything else.
        for attr, label in (("local_member_port", "localMemberPort"), ("offset", "port offset")):
            seen: dict[int, str] = {}
            for nname in names:
                n = p.nodes[nname]
                value = n.local_member_port if attr == "local_member_port" else node_offset(n)
                if value in seen:
                    extra = " (ERRATA E10: localMemberPort is not shifted by the Offset)" \
                        if attr == "local_member_port" else ""
                    err(f"nodes.{nname}.{attr}", f"same {label} {value} as `{seen[value]}` on host `{hname}`{extra}",
                        f"give every node on `{hname}` its own {label}")
                else:
                    seen[value] = nname
        # Any other listening port two things on this host would both open.
        owners: dict[int, tuple[str | None, str]] = {}  # port -> (node or None for a service, what)
        h = p.hosts[hname]
        if "database" in h.roles:
            owners[p.database.port if p.database and p.database.host == hname else 3306] = (None, "the database")
        if "svn" in h.roles:
            owners[SVN_PORT] = (None, "svnserve")
        if p.load_balancer.kind == "nginx" and p.load_balancer.host == hname:
            owners.setdefault(p.load_balancer.http_port, (None, "nginx http"))
            owners.setdefault(p.load_balancer.https_port, (None, "nginx https"))
        for nname in names:
            n = p.nodes[nname]
            ports = node_ports(p, n)
            if n.role == "elb":  # the ELB also listens on its group management port
                ports["group_mgt"] = p.load_balancer.group_mgt_port
            for label, port in ports.items():
                if port not in owners:
                    owners[port] = (nname, label)
                    continue
                other, other_label = owners[port]
                if other == nname or "thrift" in (label, other_label):
                    continue  # the thrift port: broker_checks.py
                if other is not None:
                    both_lmp = label == other_label == "local_member"
                    same_offset = "local_member" not in (label, other_label) and \
                        node_offset(p.nodes[other]) == node_offset(n)
                    if both_lmp or same_offset:
                        continue  # reported above
                what = f"`{other}` ({other_label})" if other else other_label
                attr = "local_member_port" if label == "local_member" else "offset"
                err(f"nodes.{nname}.{attr}", f"port {port} ({label}) is also used by {what} on host `{hname}`",
                    "change the offset or the localMemberPort so every port on the host is distinct")
        # Two nodes sharing one configuration directory would overwrite each other.
        confs: dict[str, str] = {}
        for nname in names:
            n = p.nodes[nname]
            conf = f"{n.home.rstrip('/')}/{layout(p.node_product(n), n.role).conf}"
            if conf in confs:
                err(f"nodes.{nname}.home", f"same configuration directory {conf} as `{confs[conf]}` on `{hname}`",
                    "give every node on a host its own product home")
            else:
                confs[conf] = nname


def _roles(r: Report) -> None:
    """Well-known members, one manager per worker cluster, unique broker nodeIDs."""
    p, err, warn = r.p, r.err, r.warn
    cluster = [n for n, v in p.nodes.items() if v.role in ("manager", "worker", "member")]
    brokers = [n for n, v in p.nodes.items() if v.role == "broker"]
    for group, label in ((cluster, "cluster"), (brokers, "broker")):
        wk = sum(p.nodes[n].well_known for n in group)
        if len(group) > 1 and wk == 0:
            err("nodes", f"no well-known member among the {label} nodes: they can never find each other",
                "mark at least two nodes `well_known: true`")
        elif len(group) > 1 and wk < 2:
            warn("nodes", f"fewer than two well-known members in the {label} nodes",
                 "mark at least two nodes `well_known: true` so one can restart without the others")
    workers = [n for n, v in p.nodes.items() if v.role == "worker"]
    managers = [n for n, v in p.nodes.items() if v.role == "manager"]
    members = [n for n, v in p.nodes.items() if v.role == "member"]
    if workers and len(managers) != 1:
        err("nodes", f"{len(managers)} manager nodes for {len(workers)} worker(s)",
            "a worker/manager cluster has exactly one node with role: manager")
    elif len(managers) > 1:
        err("nodes", f"{len(managers)} manager nodes", "a cluster has exactly one node with role: manager")
    if members and (workers or managers):
        err("nodes", "nodes with role `member` mixed with manager/worker nodes",
            "use either manager + workers (002) or members only (004)")
    # Broker node IDs, domain and thrift port: broker_checks.py.
