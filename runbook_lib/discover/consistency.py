"""The consistency report: values that must agree between nodes and don't,
and known faults, each with where it is and what the runbook would do about
it. The round trip (roundtrip.py) accepts a difference in the plan only when
an item here names its host and file."""

from __future__ import annotations

import ipaddress
import re
from collections import defaultdict

from ..facts.mysql import parse_jdbc_url
from .assemble import Facts, cluster_section, node_role, shared_tls_file, vhost_kind
from .found import Found
from .elbread import elb_ports
from .items import Item, _item
from .membernames import member_names


def _differs(label: str, values: dict[str, Found | None], action: str) -> list[Item]:
    """One item per node whose value is not the most common one."""
    seen = [v.value for v in values.values() if v is not None]
    if len(set(seen)) <= 1:
        return []
    top = max(set(seen), key=seen.count)
    return [_item("differs", f"{label} on {n} is {v.value!r}, {seen.count(top)} other node(s) say {top!r}", v, action)
            for n, v in values.items() if v is not None and v.value != top]


def report(facts: Facts) -> list[Item]:
    items: list[Item] = []
    cluster = facts.by_role("manager", "worker", "member")
    brokers = facts.by_role("broker")
    fix_axis2 = "05/06 write the params' value into axis2.xml"
    for group in (cluster, brokers):
        items += _differs("clustering domain", {n: f.param("domain") for n, f in group.items()}, fix_axis2)
        items += _differs("clustering agent", {n: f.agent for n, f in group.items()},
                          "left as shipped: a Tribes and a Hazelcast member never see each other; fix by hand")
    items += _differs("HostName", {n: f.carbon("c:HostName") for n, f in cluster.items()},
                      "05/06 write hostnames.cluster into carbon.xml")
    items += _registry(cluster)
    items += _datasources(cluster)
    for n, f in {**cluster, **brokers}.items():
        host = facts.node_host[n]
        address = facts.address_of(host)
        lmh = f.param("localMemberHost")
        if lmh is not None:
            try:
                ip = ipaddress.IPv4Address(lmh.value)
                if ip.is_loopback or ip.is_unspecified:
                    items.append(_item("erratum", f"{n}: localMemberHost {lmh.value} cannot be reached by the "
                                       "other members (ERRATA E10)", lmh, f"writes the host's address {address}"))
                elif lmh.value != address:
                    items.append(_item("fault", f"{n}: localMemberHost {lmh.value} is not {host}'s address "
                                       f"{address}", lmh, "keeps it as local_member_host (E10 check in validate)"))
            except ValueError:
                items.append(_item("style", f"{n}: localMemberHost is the host name {lmh.value!r}, not an IP "
                                   "(ERRATA E10)", lmh, f"writes the host's address {address}"))
        enabled = f.clustering_enabled
        if enabled is not None and enabled.value != "true":
            items.append(_item("fault", f"{n}: clustering is not enabled", enabled, "sets enable=\"true\""))
        if node_role(f).value == "worker" and (f.depsync("AutoCommit") or Found("")).value == "true":
            items.append(_item("fault", f"{n}: a worker with AutoCommit true (only the manager commits)",
                               f.depsync("AutoCommit"), "06 sets AutoCommit false"))
        pattern, role = f.param("clusteringPattern"), node_role(f).value
        if pattern is not None and role in ("manager", "worker") and pattern.value != "WorkerManager":
            items.append(_item("style", f"{n}: clusteringPattern {pattern.value} on a {role} (as shipped: every "
                               "node runs the scheduled tasks)", pattern, "05/06 write WorkerManager (the params "
                               "model has no clustering pattern): scheduled tasks run on the manager only"))
        for c in ("9763", "9443"):
            if n in cluster and f.files["catalina"].ok and f.proxy_port(c) is None and facts.lb_address:
                items.append(Item("erratum", f"{n}: the {c} connector has no proxyPort (ERRATA E11)", host,
                                  f.files["catalina"].path, None, "05/06 add proxyPort"))
    items += _members(facts, cluster, False) + _members(facts, brokers, True)
    items += member_names(facts, cluster) + member_names(facts, brokers)
    managers = facts.by_role("manager")
    if len(managers) > 1:
        for n, f in list(managers.items())[1:]:
            items.append(_item("fault", f"{n}: subDomain mgt on a second node: a worker with subDomain mgt (ERRATA E9) "
                               f"is taken for a manager beside {next(iter(managers))}", f.sub_domain,
                               "kept as a manager in the params: set its role to worker there, and 06 writes "
                               "subDomain worker"))
    items += _ports_twice(facts)
    items += _load_balancer(facts)
    items += _grants(facts)
    return list(dict.fromkeys(items))  # one item per finding, however many vhosts or nodes led to it


RUNBOOK_VHOST = "Written by the WSO2 cluster runbook"


def _load_balancer(facts: Facts) -> list[Item]:
    """Vhosts written by hand are rewritten in the runbook's form, in their own
    files; certificates elsewhere than ssl_dir/<name>.crt are made anew."""
    n = facts.nginx
    if n is None or facts.lb_address is None:
        return []
    lb = facts.host_name(facts.lb_address)
    names = cluster_section(facts)["hostnames"]
    items, hand = [], False
    per_file: dict[str, int] = defaultdict(int)
    for srv in n.servers:
        per_file[srv.file] += 1
    for srv in n.servers:
        name = srv.server_name.value if srv.server_name else "?"
        if per_file[srv.file] > 1 and not shared_tls_file(n, names, srv.file):
            items.append(Item("cannot express", f"{srv.file} holds {per_file[srv.file]} vhosts: the runbook keeps "
                              "only the two HTTPS vhosts in one file", lb, srv.file, srv.line,
                              "writes its vhosts in files of their own beside it (load_balancer.vhost_files: the "
                              "HTTP vhost, written by 01 before 02 makes the certificates, keeps a file of its own)"))
            items.append(Item("cannot express", f"{name}: a vhost the runbook writes in a file of its own", lb,
                              n.conf_dir or "/etc/nginx/conf.d", None, "creates it beside the hand-built file"))
        elif srv.proxy_pass is not None:
            items.append(Item("style", f"vhost {name}:{srv.port} ({vhost_kind(srv, names)}) written by hand", lb,
                              srv.file, srv.line, "rewrites it in its own form in the same file (kept as "
                              "load_balancer.vhost_files): a header, the X-Runbook-Vhost marker it verifies, the "
                              "proxy lines of 002/004"))
        hand = True
        cert = srv.certificate.value if srv.certificate else None
        seen = facts.lb_certs.get(name) or {}
        trusted = seen.get("fingerprint") in (facts.truststore or {}).values()
        if srv.tls and cert and cert != f"/etc/nginx/ssl/{name}.crt":
            items.append(Item("cannot express", f"{name} serves the certificate {cert}", lb, "/etc/nginx/ssl", None,
                              "makes a key and certificate per host name (SAN DNS:name) at ssl_dir/<name>.crt and "
                              "points the vhost at it; the params model has no certificate paths"))
            trusted = False
        elif srv.tls and cert and name not in seen.get("dns", [name]):
            items.append(Item("erratum", f"{name}: its certificate has no subjectAltName DNS:{name} (ERRATA E13)", lb,
                              cert, None, "makes a new certificate with the name in subjectAltName"))
            trusted = False
        if srv.tls and not trusted:
            for node, f in facts.by_role("manager", "worker", "member").items():
                items.append(Item("cannot express", f"{node}: its truststore does not trust the certificate {name} "
                                  "will serve", f.home.host, f"{f.home.path}/{f.spec.security_dir}/client-truststore.jks",
                                  None, "imports the certificates it makes under the params' truststore_alias"))
    if hand:
        items.append(Item("style", "nginx is tested and reloaded after the vhosts are rewritten", lb, "nginx", None,
                          "nginx -t, then reload"))
    return items


def _grants(facts: Facts) -> list[Item]:
    """A GRANT on WSO2_USER_DB.* leaves `_` a LIKE wildcard (it covers WSO2xUSERxDB too)."""
    if facts.db is None or facts.db_address not in facts.reached:
        return []
    host, items = facts.host_name(facts.db_address), []
    for account, lines in facts.db.app_grants.items():
        for line in lines:
            m = re.match(r"GRANT (.+?) ON `([^`]+)`\.\* TO", line)
            if m and "_" in m.group(2).replace("\\_", ""):
                exact = m.group(2).replace("_", "\\_")
                items.append(Item("fault", f"{line.split(' IDENTIFIED')[0]}: `_` in the database name is a "
                                  "wildcard there", host, f"on {m.group(2)}.*", None,
                                  f"03 grants on `{exact}`.* exactly and revokes the wildcard grant"))
    return items


def _members(facts: Facts, group: dict, brokers: bool) -> list[Item]:
    """Each node's well-known members against what the runbook writes: every node some
    other node lists (a well-known member), itself excluded (brokers: included)."""
    def address(n: str) -> str:
        return facts.address_of(facts.node_host[n])

    def resolve(n: str, name: str) -> str:  # a member by host name, as the node's host resolves it
        r = facts.reached.get(address(n))
        return r.etc_hosts.get(name, name) if r else name

    def own(n: str) -> tuple[str, str]:
        f = group[n]
        lmh, lmp = f.param("localMemberHost"), f.param("localMemberPort")
        host = lmh.value if lmh is not None and not lmh.value.startswith("127.") else address(n)
        return resolve(n, host), lmp.value if lmp else ""

    elb = set()  # the ELB's entries (the params' well_known ELB) are compared apart if brokers else elb_ports(facts)
    found = {n: {(resolve(n, h.value), p.value) for h, p in f.members()} - elb for n, f in group.items()}
    listed = {n for n in group for m, fm in found.items() if (m != n or brokers) and own(n) in fm}
    items = []
    for n, f in group.items():
        want = {own(m) for m in listed if m != n or brokers}
        if found[n] != want and f.files["axis2"].ok:
            el = f.files["axis2"].one("/axisconfig/clustering/members")
            show = lambda s: ", ".join(f"{h}:{p}" for h, p in sorted(s)) or "none"  # noqa: E731
            items.append(_item("differs", f"{n}: well-known members {show(found[n])}; the runbook writes every "
                               f"well-known member but the node itself: {show(want)}", el,
                               "05/06 write the members", f.home.host, f.files["axis2"].path))
    return items


def _registry(cluster: dict) -> list[Item]:
    items = []
    items += _differs("registry cacheId", {n: f.registry("remoteInstance/cacheId") for n, f in cluster.items()},
                      "04 writes <app user>@<shared registry URL> (E8)")
    for n, f in cluster.items():
        cid = f.registry("remoteInstance/cacheId")
        cfg = f.registry("remoteInstance/dbConfig")
        if cid is None or cfg is None:
            if f.files["registry"].ok:
                items.append(Item("fault", f"{n}: no shared registry remoteInstance", f.home.host,
                                  f.files["registry"].path, None, "04 adds the shared registry and its mounts"))
            continue
        jndi = f.files["registry"].one(f"/wso2registry/dbConfig[@name='{cfg.value}']/dataSource")
        ds = f.datasource_by_jndi(jndi.value) if jndi else None
        if ds is not None and cid.value != f"{ds.user.value}@{ds.url.value}":
            items.append(_item("erratum", f"{n}: cacheId {cid.value!r} is not <user>@<url> of its shared "
                               "registry datasource (ERRATA E8)", cid, "04 writes user@url"))
        for path, inst, target in f.mounts():
            if path not in ("/_system/config", "/_system/governance") and inst is not None:
                items.append(_item("style", f"{n}: extra registry mount {path}", inst, "kept: 04 edits only the "
                                   "/_system/config and /_system/governance mounts"))
    return items


def _datasources(cluster: dict) -> list[Item]:
    items: list[Item] = []
    by_jndi: dict[str, dict] = defaultdict(dict)
    for n, f in cluster.items():
        for d in f.datasources():
            by_jndi[d.jndi.value][n] = d
            if d.url.value and "jdbc:mysql" in d.url.value and (";" in d.url.value):
                items.append(_item("erratum", f"{n}: datasource {d.name.value} URL has H2 options (ERRATA E3)",
                                   d.url, "04 writes MySQL options"))
    for jndi, per_node in by_jndi.items():
        if jndi == "jdbc/WSO2CarbonDB":
            continue  # each node's own local registry
        items += _differs(f"datasource {jndi} URL", {n: d.url for n, d in per_node.items()},
                          "04 writes the URL of the params' database")
        items += _differs(f"datasource {jndi} user", {n: d.user for n, d in per_node.items()},
                          "04 writes database.app_user")
    for n, f in cluster.items():
        um = f.user_store_jndi
        if um is not None and um.value == "jdbc/WSO2CarbonDB":
            items.append(_item("fault", f"{n}: user-mgt.xml names the node's own database: its users are its own",
                               um, "04 points it at the shared user store jdbc/WSO2UMDB"))
        for d in f.datasources():
            p = parse_jdbc_url(d.url.value)
            if p and d.name.value not in ("WSO2_USER_DB", "REGISTRY_DB", "WSO2_MB_STORE_DB", p[2]) and \
                    d.jndi.value in ("jdbc/WSO2UMDB", "jdbc/WSO2RegistryDB", "jdbc/WSO2CarbonDB"):
                items.append(_item("cannot express", f"{n}: datasource named {d.name.value!r} for {d.jndi.value}",
                                   d.name, "04 adds its own datasource with the runbook's name beside it: "
                                   "the params model has no datasource names"))
    return items


def _ports_twice(facts: Facts) -> list[Item]:
    """Two homes on one host with one Offset or one localMemberPort: they cannot both run."""
    items = []
    by_host: dict[str, list] = defaultdict(list)
    for n, f in facts.nodes.items():
        by_host[facts.node_host[n]].append((n, f))
    for host, homes in by_host.items():
        for i, (a, fa) in enumerate(homes):
            for b, fb in homes[i + 1:]:
                same = sorted(fa.ports_claimed() & fb.ports_claimed())
                if same:
                    items.append(Item("fault", f"{a} and {b} on {host} claim the same ports {same[:4]}", host,
                                      fb.files["carbon"].path, None,
                                      "validate refuses the params until the Offsets/localMemberPorts differ"))
    return items
