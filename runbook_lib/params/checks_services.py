"""Cross-section rules about the services around the nodes: the load
balancer and host names, the database, the deployment synchronizer, files
that hold secrets, and the lab. Run by ``checks.cross_checks`` after the
topology rules, with the same ``Report``.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from ..products import spec_for
from .derive import cluster_agent
from .findings import Report


def _inside_git_repo(path: Path) -> bool:
    for parent in [path, *path.parents]:
        if (parent / ".git").exists():
            return True
    return False


def _resolve(base: Path, value: str) -> Path:
    p = Path(value).expanduser()
    return p if p.is_absolute() else (base / p).resolve()


def _load_balancer(r: Report, base: Path) -> None:
    """Host names the load balancer can route by; its kind matches the nodes."""
    p, err, warn, host_ref = r.p, r.err, r.warn, r.host_ref
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
    _elb_reaches_members(r, elbs)


def _elb_reaches_members(r: Report, elbs: list[str]) -> None:
    """The ELB learns its members only from nodes that list it as a well-known
    member, over the members' own clustering agent (CARBON-RUNTIME.md "Which
    clustering agent", "WSO2 ELB 2.x")."""
    p = r.p
    if not elbs or not any(v.role in ("manager", "worker", "member") for v in p.nodes.values()):
        return
    if not any(p.nodes[n].well_known for n in elbs):
        r.err(f"nodes.{elbs[0]}.well_known", "no node lists the ELB as a well-known member, so the ELB never "
              "learns a member and answers every request with \"No application members available\" (000: \"you "
              "add the ELB and ESB manager node to the well-known members\"; 001 step 5)",
              f"set well_known: true on nodes.{elbs[0]}")
    agent = cluster_agent(p)
    for n in elbs:
        prod = p.node_product(p.nodes[n])
        has = spec_for(prod.name, prod.version).agents_in(prod.version)
        if agent not in has:
            r.err(f"nodes.{n}.product.version", f"{prod.name.upper()} {prod.version} has no "
                  f"{agent.rsplit('.', 1)[-1]} (it ships {', '.join(a.rsplit('.', 1)[-1] for a in has)}), the "
                  f"agent the {p.product.name.upper()} {p.product.version} nodes run: it could never learn them "
                  "(the Hazelcast agent came with Carbon 4.2)",
                  "use an ELB of the 2.1 line (Carbon 4.2, as document 000 does: wso2elb-2.1.0) in front of "
                  "Hazelcast nodes")


def _database(r: Report, base: Path) -> None:
    """The database host, tunnel and names; brokers need an MB store (E4)."""
    p, err, warn, host_ref = r.p, r.err, r.warn, r.host_ref
    brokers = [n for n, v in p.nodes.items() if v.role == "broker"]
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


def _deployment_sync(r: Report, base: Path) -> None:
    """The SVN synchronizer's host, URL and credentials, and a manager to commit."""
    p, err, warn, host_ref = r.p, r.err, r.warn, r.host_ref
    managers = [n for n, v in p.nodes.items() if v.role == "manager"]
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
    elif ds.kind == "rsync":
        _rsync(r)
    if ds.kind != "svn":
        given = [a for a in ("host", "url", "user", "password", "repo_path") if getattr(ds, a) is not None]
        if given:
            err(f"deployment_sync.{given[0]}", f"set, but deployment_sync.kind is `{ds.kind}`, so it would be ignored",
                "set kind: svn, or remove " + ", ".join(given))
    if ds.kind != "rsync" and ds.source is not None:
        err("deployment_sync.source", f"set, but deployment_sync.kind is `{ds.kind}`, so it would be ignored",
            "set kind: rsync, or remove source")


def _rsync(r: Report) -> None:
    """rsync (WSO2's Carbon 4.4 clustering guide): one source node pushes to every other node of the cluster."""
    p, ds = r.p, r.p.deployment_sync
    pushers = [n for n, v in p.nodes.items() if v.role in ("manager", "member")]
    if ds.source is None:
        r.err("deployment_sync.source", "required for rsync: the node whose repository/deployment/server/ is "
              "pushed to the others", f"set source: to the manager (or, without one, a member): {', '.join(pushers)}")
    elif ds.source not in p.nodes:
        r.err("deployment_sync.source", f"`{ds.source}` is not a node in nodes:", f"use one of {', '.join(pushers)}")
    elif ds.source not in pushers:
        r.err("deployment_sync.source", f"`{ds.source}` is a {p.nodes[ds.source].role}: only the manager (or a "
              "member where there is no manager) deploys artifacts", f"use one of {', '.join(pushers)}")
    elif any(v.role == "manager" for v in p.nodes.values()) and p.nodes[ds.source].role != "manager":
        r.err("deployment_sync.source", "with a manager, the manager is the source (workers take its artifacts)",
              "set source: to the manager")


def _elb_only_settings(r: Report, base: Path) -> None:
    """E16's socket timeout is a WSO2 ELB file's; nginx has no passthru-http.properties."""
    if r.p.load_balancer.socket_timeout_ms is not None and r.p.load_balancer.kind != "elb":
        r.err("load_balancer.socket_timeout_ms", f"set, but load_balancer.kind is `{r.p.load_balancer.kind}`: only "
              "the WSO2 ELB has passthru-http.properties, so it would be ignored",
              "remove it (nginx: its vhosts keep the documents' proxy_read_timeout 5m)")


def _no_synchronizer(r: Report, base: Path) -> None:
    """A manager with workers and no deployment synchronizer: what is deployed on
    the manager never reaches the workers, which 08 would find only at its end."""
    roles = {v.role for v in r.p.nodes.values()}
    if r.p.deployment_sync.kind == "none" and {"manager", "worker"} <= roles:  # rsync and svn both deliver
        r.warn("deployment_sync.kind", "a manager/worker layout with no deployment synchronizer: artifacts deployed "
               "on the manager never reach the workers, and 08 will fail with \"not deployed\" on every worker",
               "set deployment_sync.kind: svn with its host, url, user and password (000, 001, 002) or kind: "
               "rsync with its source (E18), or copy "
               "every artifact to each worker yourself")


def _secret_files(r: Report, base: Path) -> None:
    """Secrets, SSH and CA keys kept outside git repositories."""
    p, err = r.p, r.err
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


def _lab(r: Report, base: Path) -> None:
    """Lab addresses inside the lab subnet."""
    p, err = r.p, r.err
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


SERVICE_RULES = (_load_balancer, _database, _deployment_sync, _no_synchronizer, _elb_only_settings, _secret_files, _lab)
