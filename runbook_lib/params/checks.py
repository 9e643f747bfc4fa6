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
from urllib.parse import urlsplit

from ..errors import Problem
from .model import Params

SKELETONS = Path(__file__).resolve().parent.parent / "lab" / "skeletons"
SVN_PORT = 3690


def _inside_git_repo(path: Path) -> bool:
    for parent in [path, *path.parents]:
        if (parent / ".git").exists():
            return True
    return False


def _resolve(base: Path, value: str) -> Path:
    p = Path(value).expanduser()
    return p if p.is_absolute() else (base / p).resolve()


def cross_checks(p: Params, file: str, base: Path) -> list[Problem]:
    from .derive import layout, node_offset, node_ports  # local import: derive imports model only

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

    # --- nodes -------------------------------------------------------------
    per_host: dict[str, list[str]] = defaultdict(list)
    for nname, n in p.nodes.items():
        field = f"nodes.{nname}"
        host_ref(f"{field}.host", n.host, "node")
        if n.host in p.hosts:
            per_host[n.host].append(nname)
        prod = p.node_product(n)
        if n.role == "broker" and prod.name != "ei":
            err(f"{field}.role", f"the broker role needs the EI product, not `{prod.name}`",
                "set product: {name: ei, version: 6.1.1} for this node")
        if n.role == "elb" and prod.name != "elb":
            err(f"{field}.product", f"an elb node must run the ELB product, not `{prod.name}`",
                "set product: {name: elb, version: 2.0.5} for this node")
        if n.role != "elb" and prod.name == "elb":
            err(f"{field}.role", f"the ELB product can only take the role `elb`, not `{n.role}`", "set role: elb")
        if p.lab and not (SKELETONS / prod.dist).is_dir():
            known = sorted(d.name for d in SKELETONS.iterdir() if d.is_dir()) if SKELETONS.is_dir() else []
            err(f"{field}.product" if n.product else "product", f"the lab has no product skeleton `{prod.dist}`",
                f"use a version the lab can build: {known}")
        if p.lab and not n.home.startswith("/opt/"):
            err(f"{field}.home", f"{n.home} is not under /opt, where the lab installs product homes",
                "put the product home under /opt/, e.g. /opt/wso2/manager/wso2ei-6.1.1")
        if p.lab and n.local_member_host is not None and IPv4Address(n.local_member_host) not in p.lab.subnet:
            err(f"{field}.local_member_host", f"{n.local_member_host} is outside the lab subnet {p.lab.subnet}",
                "leave it out to use the host's address")

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

    # --- names and the load balancer ---------------------------------------
    hn = p.cluster.hostnames
    lb = p.load_balancer
    if lb.kind != "none" and hn.cluster == hn.management:
        err("cluster.hostnames.management", f"same name as the cluster host name `{hn.cluster}`",
            "the load balancer routes by name: give the management console its own name, e.g. mgt.esb.wso2.com")
    if lb.http_port == lb.https_port:
        err("load_balancer.https_port", f"same port {lb.http_port} as http_port", "use two ports, e.g. 80 and 443")
    elbs = [n for n, v in p.nodes.items() if v.role == "elb"]
    if lb.kind == "nginx":
        if lb.host is None:
            err("load_balancer.host", "nginx needs a host", "set load_balancer.host to the LB host's name")
        host_ref("load_balancer.host", lb.host, "load_balancer")
        if lb.affinity == "sticky":
            warn("load_balancer.affinity", "`sticky` needs NGINX Plus or nginx 1.29.6+ (ERRATA E15)",
                 "use ip_hash on older community nginx")
    elif lb.host is not None:
        host_ref("load_balancer.host", lb.host)
        err("load_balancer.host", f"only an nginx load balancer has a host, not kind `{lb.kind}`",
            "remove load_balancer.host" + (" (the elb node says where the ELB runs)" if lb.kind == "elb" else ""))
    if lb.kind == "elb" and not elbs:
        err("load_balancer.kind", "kind elb but no node has role: elb", "add the ELB node under nodes:")
    if elbs and lb.kind != "elb":
        err("load_balancer.kind", f"node `{elbs[0]}` has role elb but the load balancer kind is `{lb.kind}`",
            "set load_balancer.kind: elb, or remove the elb node")

    # --- database ----------------------------------------------------------
    if p.database:
        host_ref("database.host", p.database.host, "database")
        tunnel = getattr(p.database, "tunnel_via", None)
        host_ref("database.tunnel_via", tunnel)
        if tunnel is not None and tunnel == p.database.host:
            err("database.tunnel_via", f"`{tunnel}` is the database host itself",
                "name another host to tunnel through, or remove tunnel_via")
        names = p.database.names
        shared = {names.user_store: "user_store", names.shared_registry: "shared_registry"}
        locals_seen: dict[str, str] = {}
        for node, db in names.local_registry.items():
            field = f"database.names.local_registry.{node}"
            if node not in p.nodes:
                err(field, f"no node named `{node}`", f"use one of {sorted(p.nodes)}")
            elif p.nodes[node].role == "elb":
                err(field, f"`{node}` is an ELB node, which keeps no registry", "remove this entry")
            if db in shared:
                err(field, f"{db} is also the {shared[db]} database", "give every node its own local registry database")
            elif db in locals_seen:
                err(field, f"{db} is also the local registry of `{locals_seen[db]}`",
                    "give every node its own local registry database")
            locals_seen.setdefault(db, node)
        if names.mb_store and (names.mb_store in shared or names.mb_store in locals_seen):
            err("database.names.mb_store", f"{names.mb_store} is also used for another role (ERRATA E4)",
                "the message-broker store needs its own database: mysql-mb.sql is sourced into an empty one")
        if brokers and not names.mb_store:
            err("database.names.mb_store", "broker nodes need a message-broker store database",
                "set mb_store: WSO2_MB_DB (or your name)")
    elif any(v.role != "elb" for v in p.nodes.values()):
        if brokers:
            err("database", "broker nodes need a database section for the message-broker store",
                "add database: with names.mb_store")
        else:
            warn("database", "no database section: nodes keep their embedded H2 databases",
                 "add a database: section for a real cluster")
    if p.cluster.hostnames.database and not p.database:
        err("cluster.hostnames.database", "a database alias but no database section",
            "add a database: section or remove the alias")

    # --- deployment synchronizer -------------------------------------------
    ds = p.deployment_sync
    if ds.kind == "svn":
        host_ref("deployment_sync.host", ds.host, "svn")
        for attr in ("url", "user", "password"):
            if getattr(ds, attr) is None:
                err(f"deployment_sync.{attr}", "required for the SVN deployment synchronizer",
                    f"add deployment_sync.{attr}" + (": {secret: SVN_PASSWORD}" if attr == "password" else ""))
        if not managers:
            err("deployment_sync.kind", "the SVN deployment synchronizer needs a manager node to commit (AutoCommit)",
                "add a node with role: manager, or set kind: none")
        if ds.url and ds.host in p.hosts:
            url_host = urlsplit(ds.url).hostname
            if url_host not in (str(p.hosts[ds.host].address), ds.host):
                warn("deployment_sync.url", f"the URL names {url_host} but deployment_sync.host `{ds.host}` is "
                     f"{p.hosts[ds.host].address}", "point the URL at the SVN host's address")
    else:
        given = [a for a in ("host", "url", "user", "password") if getattr(ds, a) is not None]
        if given:
            err(f"deployment_sync.{given[0]}", "set, but deployment_sync.kind is `none`, so it would be ignored",
                "set kind: svn, or remove " + ", ".join(given))

    # --- files that hold secrets -------------------------------------------
    in_repo = _inside_git_repo(base)
    if p.secrets_file and in_repo and _inside_git_repo(_resolve(base, p.secrets_file).parent):
        err("secrets_file", f"{p.secrets_file} is inside a git repository",
            "keep secrets outside the repository, e.g. ~/.config/wso2-runbook/secrets.env")
    if in_repo and _inside_git_repo(_resolve(base, p.ssh.key).parent):
        err("ssh.key", f"the private key {p.ssh.key} is inside a git repository",
            "keep SSH keys outside the repository, e.g. ~/.ssh/wso2_runbook")
    if p.certificates:
        c = p.certificates
        if (c.ca_cert is None) != (c.ca_key is None):
            missing = "ca_key" if c.ca_key is None else "ca_cert"
            err(f"certificates.{missing}", "ca_cert and ca_key go together", f"add certificates.{missing}, or remove both")
        if c.ca_key and in_repo and _inside_git_repo(_resolve(base, c.ca_key).parent):
            err("certificates.ca_key", f"the CA private key {c.ca_key} is inside a git repository",
                "keep private keys outside the repository")

    # --- the lab -----------------------------------------------------------
    if p.lab:
        net = p.lab.subnet
        if p.lab.gateway not in net:
            err("lab.gateway", f"{p.lab.gateway} is outside {net}", "pick an address inside lab.subnet")
        for hname, h in p.hosts.items():
            if h.address not in net:
                err(f"hosts.{hname}.address", f"{h.address} is outside the lab subnet {net}",
                    "pick an address inside lab.subnet")
            elif h.address in (net.network_address, net.broadcast_address):
                err(f"hosts.{hname}.address", f"{h.address} is the network or broadcast address of {net}",
                    "pick another address inside lab.subnet")
            if h.address == p.lab.gateway:
                err(f"hosts.{hname}.address", "same address as lab.gateway", "pick another address")
    return out
