"""08 · How the cluster test reaches the cluster through its load balancer:
where the load balancer listens (nginx host or the ELB node), one HTTP(S)
request by host name, and the management console check (the console by the
management host name only). Also which nodes serve traffic and what their
axis2.xml advertises as subDomain (the ELB routes by it)."""

from __future__ import annotations

import http.client

from ...configedit import get_values
from ...core.context import Run
from ...params import NodeView
from .lifecycle import cluster_nodes
from ...facts.tls import unverified_context

SUB_DOMAIN = "/axisconfig/clustering/parameter[@name='properties']/property[@name='subDomain']/@value"


def serving(run: Run) -> list[NodeView]:
    return [v for v in cluster_nodes(run) if v.node.role in ("worker", "member")]


def lb_endpoint(run: Run) -> tuple[str, int, int]:
    """The load balancer's address and HTTP/HTTPS ports (nginx host, or the ELB node's host)."""
    p, lb = run.params, run.params.load_balancer
    if lb.kind == "elb":
        v = next(v for v in run.views.values() if v.node.role == "elb")
        return v.address, v.ports["pt_http"], v.ports["pt_https"]
    return str(p.hosts[lb.host or ""].address), lb.http_port, lb.https_port


def request(addr: str, port: int, host: str, path: str, tls: bool, body: bytes | None = None):
    if tls:
        conn = http.client.HTTPSConnection(addr, port, timeout=15, context=unverified_context())  # 02 checks the LB's
    else:
        conn = http.client.HTTPConnection(addr, port, timeout=15)
    try:
        conn.request("POST" if body is not None else "GET", path, body=body,
                     headers={"Host": host, "Content-Type": "application/xml"})
        r = conn.getresponse()
        return r.status, r.getheader("Location") or "", r.read().decode("utf-8", "replace")
    except OSError as e:
        return 0, "", str(e)
    finally:
        conn.close()


def not_applicable(run: Run) -> str:
    """Why this layout has no traffic to test ("" when it has)."""
    if run.params.load_balancer.kind == "none":
        return "this layout has no load balancer"
    if not serving(run):
        return "this layout has no worker or member nodes"
    return ""


def file_sub_domain(run: Run, v: NodeView) -> str | None:
    """The subDomain V's axis2.xml says now (the ELB routes by what the node advertises, not by the params)."""
    data = run.host(v.host_name).read_file(v.file("axis2")) or b""
    found = get_values(data, SUB_DOMAIN) if data else []
    return found[0] if found else None
