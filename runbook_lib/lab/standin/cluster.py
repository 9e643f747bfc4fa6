"""Starting the node's clustering agent with the log lines of the agent its
axis2.xml names (CARBON-RUNTIME.md "Clustering"): Hazelcast (ESB 4.8+, EI)
or Tribes (AS 5.x, ELB 2.0.x). Both run over membership.Membership, each
with its own protocol word, so the two never see each other."""

from __future__ import annotations

import ipaddress
import socket
import time

from .errors import StartupError
from .membership import MEMBER_DROP, SILENT_DROP, Member, Membership, new_uuid
from .product import HAZELCAST_LOADING_LINE_PRODUCTS

HZ = "org.wso2.carbon.core.clustering.hazelcast.HazelcastClusteringAgent"
HZ_WKA = "org.wso2.carbon.core.clustering.hazelcast.wka.WKABasedMembershipScheme"

HZ_PORT_COUNT = 100  # Hazelcast NetworkConfig's default port-count
TR = "org.apache.axis2.clustering.tribes.TribesClusteringAgent"
TR_WKA = "org.apache.axis2.clustering.tribes.WkaBasedMembershipScheme"
TR_LISTENER = "org.apache.axis2.clustering.tribes.TribesMembershipListener"


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def local_member(node) -> Member:
    cl = node.axis2.clustering
    mappings = {k[len("port.mapping."):]: int(v) for k, v in cl.properties.items()
                if k.startswith("port.mapping.") and v.isdigit()}
    http = node.ports.get("pt_http", node.ports.get("servlet_http", -1))
    https = node.ports.get("pt_https", node.ports.get("servlet_https", -1))
    return Member(new_uuid(), node.member_host, cl.local_port, cl.domain, cl.sub_domain, http, https,
                  node.started, "node", mappings)


def agent_proto(node) -> str:
    cl = node.axis2.clustering
    proto = node.profile.agents.get(cl.agent)  # None: a class this version does not ship
    if proto is None:
        raise StartupError(f"Cannot initialize cluster: java.lang.ClassNotFoundException: {cl.agent}",
                           "org.wso2.carbon.core.internal.CarbonCoreServiceComponent")
    return proto


def start(node, accept=None) -> Membership | None:
    """Start clustering when axis2.xml enables it; None when it is off."""
    cl = node.axis2.clustering
    if not cl.enabled:
        return None
    proto = node.agent_proto = agent_proto(node)
    log = node.log
    wka = [(_resolve(h), p) for h, p in cl.members]
    if proto == "hazelcast":
        log.info(HZ, f"Cluster domain: {cl.domain}")
        if node.profile.product in HAZELCAST_LOADING_LINE_PRODUCTS:
            log.info(HZ, "Loading hazelcast configuration from axis2 clustering configuration")
    else:
        log.info(TR, "Initializing cluster...")
        log.info(TR, f"Cluster domain: {cl.domain}")
    if cl.scheme != "wka":
        log.info(HZ if proto == "hazelcast" else TR, f"Using {cl.scheme} based membership management scheme")
        log.standin(f"membership scheme '{cl.scheme}' is not implemented by the stand-in: this node joins nobody",
                    "WARN")
        wka = []
    else:
        log.info(HZ if proto == "hazelcast" else TR, "Using wka based membership management scheme")
    t0 = time.monotonic()
    local = local_member(node)
    for h, p in wka:
        if proto == "hazelcast":
            log.info(HZ_WKA, f"Added member: Host:{h}, Remote Host:null, Port: {p}, HTTP:-1, HTTPS:-1, "
                             "Domain: null, Sub-domain:null, Active:true")
        else:
            log.info(TR_WKA, f"Added static member {h}:{p}({cl.domain})")
    if _is_loopback(local.host):
        if proto == "hazelcast":
            log.warn(HZ, "localMemberHost is configured to use the loopback address. Hazelcast Clustering needs "
                         "ip addresses for localMemberHost and well-known members.")
        else:
            log.warn(TR, "Local member advertising its IP address as 127.0.0.1. Remote members will not be able "
                         "to connect to this member.")
    sock = None
    # Hazelcast's port auto-increment (on by default; carbon-kernel v4.4.16
    # HazelcastClusteringAgent sets only nwConfig.setPort(localMemberPort)): a taken
    # localMemberPort moves the member to the next free one (SOURCES.md row P1).
    # Tribes: unsourced, the stricter reading (start-up fails).
    tries = range(cl.local_port, cl.local_port + (HZ_PORT_COUNT if proto == "hazelcast" else 1))
    for port in tries:
        try:
            sock = node.bind(port, what="cluster member")
            break
        except StartupError as e:
            if port == tries[-1]:
                raise StartupError(f"Cannot initialize cluster: {e.message}", e.logger) from None
    if port != cl.local_port:
        local.port = port
    ms = Membership(proto, local, wka, sock, accept, silent_drop=_max_no_heartbeat(node) if proto == "hazelcast"
                    else MEMBER_DROP)
    if proto == "tribes":  # unsourced: Tribes' listener is taken to report the members it finds (SOURCES.md H2)
        ms.add_listener(lambda event, m: _log_event(node, proto, event, m))
        log.info(TR, f"Local Member {local.tribes()}")
        log.info(TR, "Sending JOIN message to WKA members...")
    ms.start()
    if proto == "hazelcast":
        # WKABasedMembershipScheme.joinGroup registers its membership listener after
        # the node has joined (carbon-kernel v4.4.16 .../clustering/hazelcast/wka/
        # WKABasedMembershipScheme.java; SOURCES.md row H1): the members already
        # there are never logged as "Member joined" by the newcomer, only later joiners.
        ms.add_listener(lambda event, m: _log_event(node, proto, event, m))
    if proto == "hazelcast":
        log.info(HZ, f"Hazelcast initialized in {int((time.monotonic() - t0) * 1000)}ms")
        log.info(HZ, f"Local member: [{local.uuid}] - {local.hz()}")
        node.coordinator = ms.is_oldest()
        if node.coordinator:
            log.info(HZ, f"Elected this member [{local.uuid}] as the Coordinator node")

        def take_over(event: str, m) -> None:  # the oldest member left: the next oldest coordinates
            if event == "left" and not node.coordinator and ms.is_oldest():
                node.coordinator = True
                log.info(HZ, f"Elected this member [{local.uuid}] as the Coordinator node")
        ms.add_listener(take_over)
        log.info(HZ, "Cluster initialization completed")
    else:
        log.info(TR, "Cluster initialization completed.")
    node.on_stop(ms.stop)
    return ms


def _max_no_heartbeat(node) -> float:
    """hazelcast.max.no.heartbeat.seconds: 600 as Carbon sets it, or hazelcast.properties' value."""
    f = node.conf / "hazelcast.properties"
    try:
        for line in f.read_text().splitlines():
            k, sep, v = line.partition("=")
            if sep and k.strip() == "hazelcast.max.no.heartbeat.seconds" and v.strip().isdigit():
                return float(v.strip())
    except OSError:
        pass
    return SILENT_DROP


def _resolve(host: str) -> str:
    try:
        return socket.gethostbyname(host)
    except OSError:
        return host


def _log_event(node, proto: str, event: str, m) -> None:
    if event not in ("joined", "left"):
        return
    if proto == "hazelcast":
        if event == "joined":
            node.log.info(HZ_WKA, f"Member joined [{m.uuid}]: /{m.host}:{m.port}")
        else:
            node.log.info(HZ_WKA, f"Member left [{m.uuid}]: /{m.host}:{m.port}")
            if (m.host, m.port) in [(_resolve(h), p) for h, p in node.axis2.clustering.members]:
                node.log.info(HZ_WKA, f"WKA member Member [{m.host}]:{m.port} left cluster.")
    else:
        if event == "joined":
            node.log.info(TR_LISTENER, f"New member {m.tribes()} joined cluster.")
        else:
            node.log.info(TR_LISTENER, f"Member {m.tribes()} left cluster")
