"""The params' service sections from what was read: the deployment
synchronizer, the certificates (load balancer and truststore) and the broker
cluster (003). Each value a ``Found``, as in assemble.py."""

from __future__ import annotations

import posixpath
from urllib.parse import urlsplit

from .assemble import SECRET_NAMES, Facts, _at, majority, node_role
from .found import Found, guess


def deployment_sync_section(facts: Facts) -> dict:
    nodes = facts.by_role("manager", "worker")
    enabled = [f for f in nodes.values() if (f.depsync("Enabled") or Found("")).value == "true"]
    if not enabled:
        return {"kind": Found("none", why="no node has the DeploymentSynchronizer enabled")}
    f = next((x for n, x in nodes.items() if node_role(x).value == "manager" and x in enabled), enabled[0])
    url = f.depsync("SvnUrl")
    out: dict = {"kind": Found("svn", *_at(f.depsync("Enabled")))}
    if url is None:
        return out
    parts = urlsplit(url.value)
    svn_addr = next((a for a in facts.reached if a == parts.hostname), None)
    if svn_addr is None:  # a name: as the node's /etc/hosts resolves it
        r = facts.reached.get(facts.address_of(f.home.host))
        svn_addr = r.etc_hosts.get(parts.hostname or "") if r else None
    if svn_addr in facts.reached:
        out["host"] = Found(facts.host_name(svn_addr), url.host, url.file, url.line, why="the SvnUrl's host")
    out["url"] = url
    user = f.depsync("SvnUser")
    if user and user.value:
        out["user"] = user
    if f.depsync("SvnPassword") is not None:
        out["password"] = {"secret": Found(SECRET_NAMES["svn"], why="carbon.xml SvnPassword")}
    if facts.svn_roots:
        root = facts.svn_roots[0]
        out["repo_path"] = Found(posixpath.join(root, parts.path.lstrip("/")).rstrip("/"), svn_addr or "",
                                 "svnserve -r", why="the served root + the URL's path")
    return out


def certificates_section(facts: Facts) -> dict | None:
    if facts.lb_address is None:
        return None
    out: dict = {}
    c = facts.lb_cert
    if c:
        if c.get("key_type"):
            out["key_type"] = Found(c["key_type"], facts.lb_address, c["where"])
        if c.get("days"):
            out["days"] = Found(c["days"], facts.lb_address, c["where"], why="the certificate's validity")
    alias = None
    if c and facts.truststore:
        alias = next((a for a, fp in facts.truststore.items() if fp == c["fingerprint"]), None)
    out["truststore_alias"] = (
        Found(alias, why="the alias of the load balancer's certificate in client-truststore.jks") if alias
        else guess("wso2-lb", "the load balancer's certificate is in no truststore read"))
    out["truststore_password"] = {"secret": Found(SECRET_NAMES["truststore"], why="carbon.xml TrustStore Password")}
    return out


def brokers_section(facts: Facts) -> dict | None:
    brokers = facts.by_role("broker")
    if not brokers:
        return None
    f = next(iter(brokers.values()))
    out: dict = {}
    dom = majority([b.param("domain") for b in brokers.values()])
    if dom:
        out["domain"] = dom
    co = "/broker/coordination"
    for key, xp in (("thrift_port", f"{co}/thriftServerPort"), ("thrift_so_timeout_ms", f"{co}/thriftSOTimeout")):
        v = f.broker(xp)
        if v and v.value.isdigit():
            out[key] = Found(int(v.value), v.host, v.file, v.line)
    coord = {}
    rd = f"{co}/rdbmsBasedCoordination"
    ev = f"{co}/rdbmsBasedClusterEventSynchronization"
    for key, xp in (("heartbeat_interval_ms", f"{rd}/heartbeatInterval"),
                    ("coordinator_entry_creation_wait_ms", f"{rd}/coordinatorEntryCreationWaitTime"),
                    ("event_polling_interval_ms", f"{rd}/eventPollingInterval"),
                    ("event_sync_interval_ms", f"{ev}/eventSyncInterval")):
        v = f.broker(xp)
        if v and v.value.isdigit():
            coord[key] = Found(int(v.value), v.host, v.file, v.line)
    if coord:
        out["coordination"] = coord
    npd = "/broker/recovery/networkPartitionsDetection"
    en, size = f.broker(f"{npd}/@enabled"), f.broker(f"{npd}/minimumClusterSize")
    if en:
        out["network_partitions"] = {"enabled": Found(en.value == "true", en.host, en.file, en.line)}
        if size and size.value.isdigit():
            out["network_partitions"]["minimum_cluster_size"] = Found(int(size.value), size.host, size.file,
                                                                      size.line)
    d, t = f.qpid("/broker/heartbeat/delay"), f.qpid("/broker/heartbeat/timeoutFactor")
    if d and d.value.isdigit() and t:
        try:
            out["amqp_heartbeat"] = {"delay_s": Found(int(d.value), d.host, d.file, d.line),
                                     "timeout_factor": Found(float(t.value), t.host, t.file, t.line)}
        except ValueError:
            pass
    return out
