"""The WSO2 ELB 2.x (CARBON-RUNTIME.md "WSO2 ELB 2.x"): a group management
agent per application domain in loadbalancer.conf (on its group_mgt_port),
and the ELB's own clustering port, learn the members that list the ELB as a
well-known member; each request on the ELB's PassThrough ports is routed by
its Host header to a live member of the matching domain and sub-domain,
round robin, failing over when a member does not answer."""

from __future__ import annotations

import http.client
import itertools
import ssl
import threading
import time
from dataclasses import dataclass

from .httpd import Request, Response, html_page
from .membership import Member, Membership, new_uuid

GMA = "org.wso2.carbon.lb.common.group.mgt.DefaultGroupManagementAgent"
TLB = "org.apache.synapse.endpoints.dispatch.TenantAwareLoadBalanceEndpoint"
CONF = "org.wso2.carbon.lb.common.conf.LoadBalancerConfiguration"
DEFAULT_SUB = "__$default"


@dataclass(frozen=True)
class Route:
    domain: str
    sub_domain: str


def host_routes(conf: dict) -> tuple[dict[str, Route], dict[str, int]]:
    """Host name -> (domain, sub-domain), and domain -> group_mgt_port."""
    routes: dict[str, Route] = {}
    ports: dict[str, int] = {}
    services = conf.get("services", {})
    for svc_name, svc in services.items():
        if svc_name == "defaults" or not isinstance(svc, dict):
            continue
        svc_hosts = [h.strip() for h in str(svc.get("hosts", "")).split(",") if h.strip()]
        for domain, dconf in (svc.get("domains") or {}).items():
            if not isinstance(dconf, dict):
                continue
            if str(dconf.get("group_mgt_port", "")).isdigit():
                ports[domain] = int(dconf["group_mgt_port"])
            subs = {k: v for k, v in dconf.items() if isinstance(v, dict)}
            for sub, sconf in subs.items():
                for h in str(sconf.get("hosts", "")).split(","):
                    if h.strip():
                        routes[h.strip()] = Route(domain, sub)
            if not subs:
                for h in svc_hosts:
                    routes.setdefault(h, Route(domain, str(dconf.get("sub_domain", DEFAULT_SUB))))
    return routes, ports


class LoadBalancer:
    def __init__(self, node, lb_conf: dict):
        self.node = node
        self.routes, self.gm_ports = host_routes(lb_conf)
        self.agents: list[Membership] = []
        self._rr: dict[Route, itertools.count] = {}
        self._suspended: dict[str, float] = {}
        self._lock = threading.Lock()

    def domains(self) -> set[str]:
        return {r.domain for r in self.routes.values()} | set(self.gm_ports)

    def start(self, proto: str, own: Membership | None) -> None:
        """One group management agent per domain with a group_mgt_port, plus
        the ELB's own clustering agent OWN (document 001 lists the ELB at its
        localMemberPort 4000), which accepts members of every domain it serves."""
        node, log = self.node, self.node.log
        agent_class = ("org.wso2.carbon.core.clustering.hazelcast.HazelcastGroupManagementAgent" if proto == "hazelcast"
                       else "org.apache.axis2.clustering.management.DefaultGroupManagementAgent")
        for d, s in sorted({(r.domain, r.sub_domain) for r in self.routes.values()}):
            log.info(GMA, f"Managing group application domain:{d}, sub-domain:{s} using agent class [{agent_class}]")
        if own is not None:
            own.add_listener(self._on_event)
            self.agents.append(own)
        for domain, port in sorted(self.gm_ports.items()):
            sock = node.bind(port, what="group management agent")
            local = Member(new_uuid(), node.member_host, port, domain, None,
                           node.ports.get("pt_http", -1), node.ports.get("pt_https", -1), node.started, "elb")
            agent = Membership(proto, local, [], sock, lambda m, d=domain: m.domain == d)
            agent.add_listener(self._on_event)
            agent.start()
            self.agents.append(agent)

    def stop(self) -> None:
        for a in self.agents[1 if self.node.membership is not None else 0:]:
            a.stop()

    def _on_event(self, event: str, m) -> None:
        if event == "joined":
            if self.node.agent_proto == "tribes":
                self.node.log.info("org.apache.axis2.clustering.tribes.MembershipManager",
                                   f"Application member {m.tribes()} joined group {m.domain}")
            self.node.log.info(GMA, f"Application member {m.hz()} joined application cluster")
        elif event == "left":
            self.node.log.info(GMA, f"Application member {m.hz()} left application cluster")

    def members(self, route: Route) -> list[Member]:
        seen: dict[str, Member] = {}
        for a in self.agents:
            for m in a.members():
                if m.domain == route.domain and (m.sub_domain or DEFAULT_SUB) == route.sub_domain:
                    seen[m.uuid] = m
        return sorted(seen.values(), key=lambda m: (m.host, m.port))

    def route(self, req: Request, listen_port: int) -> Response:
        host = req.host
        r = self.routes.get(host)
        if r is None:
            self.node.log.error(TLB, f"Invalid host name : {host}")
            return 404, {"Content-Type": "text/html"}, html_page("Invalid host", f"<h2>Invalid host name : {host}</h2>")
        members = [m for m in self.members(r) if self._suspended.get(m.uuid, 0) < time.monotonic()]
        if not members:
            self.node.log.error(TLB, "No application members available")
            return 503, {"Content-Type": "text/plain"}, b"No application members available\n"
        with self._lock:
            start = next(self._rr.setdefault(r, itertools.count()))
        first = None
        for i in range(len(members)):
            m = members[(start + i) % len(members)]
            try:
                resp = self._forward(m, req, listen_port)
            except OSError:
                self._suspended[m.uuid] = time.monotonic() + 10
                self.node.log.warn(TLB, f"Suspended member {m.hz()} for 10s")
                first = first or m
                continue
            if first is not None:
                self.node.log.info(TLB, f"Failed over to {m.hz()}")
            return resp
        self.node.log.error(TLB, "No application members available")
        return 503, {"Content-Type": "text/plain"}, b"No application members available\n"

    def _forward(self, m: Member, req: Request, listen_port: int) -> Response:
        port = m.mappings.get(str(listen_port)) or (m.https if req.scheme == "https" else m.http)
        if req.scheme == "https":
            ctx = ssl._create_unverified_context()  # the ELB does not verify its members' certificates
            conn = http.client.HTTPSConnection(m.host, port, timeout=10, context=ctx)
        else:
            conn = http.client.HTTPConnection(m.host, port, timeout=10)
        headers = {k: v for k, v in req.headers.items() if k.lower() not in ("content-length", "connection")}
        conn.request(req.method, req.path, body=req.body or None, headers=headers)
        resp = conn.getresponse()
        body = resp.read()
        out = {k: v for k, v in resp.getheaders() if k.lower() not in ("content-length", "transfer-encoding",
                                                                      "connection")}
        conn.close()
        return resp.status, out, body
