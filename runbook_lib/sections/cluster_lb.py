"""08 · How the cluster test reaches the cluster through its load balancer:
where the load balancer listens (nginx host or the ELB node), one HTTP(S)
request by host name, and the management console check (the console by the
management host name only). Also which nodes serve traffic and what their
axis2.xml advertises as subDomain (the ELB routes by it)."""

from __future__ import annotations

import http.client
import ssl

from ..configedit import get_values
from ..context import Run
from ..params import NodeView
from ..step import Check, Checks
from .cluster_test import cluster_nodes

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
        ctx = ssl.create_default_context()
        ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE  # lab/self-signed certificates: 02 checks them
        conn = http.client.HTTPSConnection(addr, port, timeout=15, context=ctx)
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


def console_checks(run: Run) -> Checks:
    if not_applicable(run):
        return Checks(f"the management console: not tested ({not_applicable(run)})", [])
    addr, _, https = lb_endpoint(run)
    names = run.params.cluster.hostnames
    checks = []
    status, loc, _ = request(addr, https, names.management, "/carbon/", True)
    checks.append(Check(addr, f"https://{names.management}/carbon/", "302 to /carbon/admin/login.jsp",
                        f"{status} {loc}".strip(), status == 302 and loc.endswith("/carbon/admin/login.jsp"),
                        console_fix(run)))
    status, _, body = request(addr, https, names.management, "/carbon/admin/login.jsp", True)
    checks.append(Check(addr, f"https://{names.management}/carbon/admin/login.jsp", "200 with the login form",
                        f"{status}{' with the login form' if 'login_action.jsp' in body else ''}",
                        status == 200 and "login_action.jsp" in body, "see the check above"))
    status, loc, body = request(addr, https, names.cluster, "/carbon/", True)
    login = status == 302 and "login.jsp" in loc or "login_action.jsp" in body
    checks.append(Check(addr, f"https://{names.cluster}/carbon/", "no console", f"{status} {loc}".strip()
                        + (" (the console!)" if login else ""), not login,
                        "the cluster host name must not reach a console: route it to the workers' PassThrough ports"))
    return Checks("the management console through the load balancer", checks)


def console_fix(run: Run) -> str:
    if run.params.load_balancer.kind != "elb":
        return "the management vhost must send /carbon/ to the manager's servlet HTTPS port (01)"
    others = [v.name for v in serving(run) if file_sub_domain(run, v) == "mgt"]
    if others:
        return (f"{', '.join(others)} advertise subDomain `mgt`, so the ELB also sends console requests to them "
                "(ERRATA E9): re-run 06 with apply=True and restart them")
    return ("the ELB sends the management host name to the mgt sub-domain: the manager must be in it and map the "
            "ELB's ports to its console (port.mapping in its axis2.xml, 05)")
