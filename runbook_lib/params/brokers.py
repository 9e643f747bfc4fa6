"""Values of the message-broker cluster (document 003), computed once.

The broker nodes form their own cluster: their own Hazelcast domain, every
broker a well-known member of every other (003: "add all the members
(including itself) in all the nodes"), and RDBMS coordination through the MB
store. Section 07, the lab's stand-in and the checks all read them from here.
"""

from __future__ import annotations

from .derive import node_offset, well_known_members
from .model import Brokers, Params

DEFAULT_NODE_ID = "default"


def settings(p: Params) -> Brokers:
    """The params' ``brokers:`` section, or the shipped defaults when absent."""
    return p.brokers or Brokers()


def broker_names(p: Params) -> list[str]:
    return [n for n, v in p.nodes.items() if v.role == "broker"]


def integrator_names(p: Params) -> list[str]:
    """Nodes of the product cluster (manager, workers, members): the other cluster."""
    return [n for n, v in p.nodes.items() if v.role in ("manager", "worker", "member")]


def domain(p: Params) -> str:
    """003 uses wso2.ei.domain for the brokers; absent, the cluster's domain."""
    return settings(p).domain or p.cluster.domain


def members(p: Params) -> list[tuple[str, int]]:
    """(IP, localMemberPort) of every well-known broker, each node itself included (003)."""
    names = broker_names(p)
    return well_known_members(p, names[0]) if names else []


def node_id(p: Params, name: str) -> str:
    """The nodeID a broker runs with: broker_node_id, or for `default`
    NODE:<localMemberHost>:<localMemberPort> (003 "coordination", CARBON-RUNTIME)."""
    n = p.nodes[name]
    if n.broker_node_id and n.broker_node_id != DEFAULT_NODE_ID:
        return n.broker_node_id
    host = n.local_member_host or str(p.hosts[n.host].address)
    return f"NODE:{host}:{n.local_member_port}"


def node_id_setting(p: Params, name: str) -> str:
    """What broker.xml's <nodeID> says: the given id, or `default` as shipped."""
    return p.nodes[name].broker_node_id or DEFAULT_NODE_ID


def thrift_port(p: Params, name: str) -> int:
    """The port thrift listens on: thriftServerPort + the Offset (E12: 7611 + 3 = 7614)."""
    return settings(p).thrift_port + node_offset(p.nodes[name])
