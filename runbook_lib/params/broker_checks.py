"""Rules for the message-broker cluster (document 003) that look at more than
one field: its own domain, unique node IDs, minimumClusterSize against the
number of brokers, the thrift port after the Offset (E12), and the coordination
timings broker.xml itself documents. ``load.py`` runs them with ``checks.py``'s.
"""

from __future__ import annotations

from collections import defaultdict

from ..core.errors import Problem
from . import brokers as b
from .derive import node_offset, node_ports
from .model import Params


def broker_checks(p: Params, file: str) -> list[Problem]:
    out: list[Problem] = []

    def err(field: str, message: str, fix: str) -> None:
        out.append(Problem(file, field, message, fix))

    def warn(field: str, message: str, fix: str) -> None:
        out.append(Problem(file, field, message, fix, level="warning"))

    names = b.broker_names(p)
    s = b.settings(p)
    if any(p.nodes[n].host not in p.hosts for n in names):
        return out  # cross_checks names the unknown host; nothing below can be derived without it
    if not names:
        if p.brokers is not None:
            err("brokers", "a brokers section but no node has role: broker",
                "add the broker nodes under nodes:, or remove the brokers section")
        return out

    # Node IDs: the second node with an id refuses to start (andes: "Another node
    # with the same node id ... Cannot start the node.").
    seen: dict[str, str] = {}
    for name in names:
        nid = b.node_id(p, name)
        if nid in seen:
            given = p.nodes[name].broker_node_id
            what = f"nodeID `{nid}`" + ("" if given and given != b.DEFAULT_NODE_ID else
                                        " (from `default`: NODE:localMemberHost:localMemberPort)")
            err(f"nodes.{name}.broker_node_id", f"same {what} as `{seen[nid]}`: the second broker would refuse "
                "to start", "give every broker node its own broker_node_id (or leave both out on different hosts)")
        else:
            seen[nid] = name

    # One domain for two clusters: they would join each other.
    if b.integrator_names(p) and b.domain(p) == p.cluster.domain:
        field = "brokers.domain" if s.domain else "brokers"
        err(field, f"the broker nodes would share the domain `{p.cluster.domain}` with the integrator cluster "
            "(cluster.domain): the two clusters would join each other",
            "give the brokers their own domain, e.g. brokers: {domain: wso2.mb.domain}")

    np = s.network_partitions
    field = "brokers.network_partitions.minimum_cluster_size"
    if np.minimum_cluster_size > len(names):
        err(field, f"minimumClusterSize {np.minimum_cluster_size} is more than the {len(names)} broker node(s): "
            "no node would ever accept traffic", f"set it to at most {len(names)}")
    elif np.enabled and np.minimum_cluster_size < 2:
        warn(field, "network-partition detection with minimumClusterSize 1 never detects a partition",
             "003: set it to at least 2")

    c = s.coordination
    if c.coordinator_entry_creation_wait_ms >= c.heartbeat_interval_ms:
        err("brokers.coordination.coordinator_entry_creation_wait_ms",
            f"{c.coordinator_entry_creation_wait_ms} ms is not less than heartbeat_interval_ms "
            f"{c.heartbeat_interval_ms} (broker.xml: it must be less than heartbeatInterval)",
            "keep it between a database round trip and heartbeat_interval_ms, e.g. 3000 with 5000")
    if s.max_clock_skew_ms >= c.heartbeat_interval_ms:
        warn("brokers.max_clock_skew_ms", f"{s.max_clock_skew_ms} ms of skew allowed, but the nodes judge each "
             f"other's heartbeats every {c.heartbeat_interval_ms} ms", "allow less skew than one heartbeat interval")

    # The thrift port after the Offset (E12), against every other port on the host.
    per_host: dict[str, list[str]] = defaultdict(list)
    for name, n in p.nodes.items():
        per_host[n.host].append(name)
    for name in names:
        n = p.nodes[name]
        thrift = b.thrift_port(p, name)
        for other in per_host[n.host]:
            ports = node_ports(p, p.nodes[other])
            # A node's own localMemberPort on the thrift port: sanity.py blames local_member_port.
            clash = [label for label, port in ports.items() if port == thrift and (other, label) != (name, "thrift")
                     and (other, label) != (name, "local_member")]
            if clash:
                who = "its own" if other == name else f"`{other}`'s"
                err("brokers.thrift_port", f"thrift port {s.thrift_port} + Offset {node_offset(n)} = {thrift} on "
                    f"`{name}` is also {who} {clash[0]} port on host `{n.host}` (ERRATA E12)",
                    "leave thrift_port at 7611 (the Offset is added), or change the node's offset")
                break
    return out
