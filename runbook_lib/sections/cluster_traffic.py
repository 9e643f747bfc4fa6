"""08 · Traffic through the load balancer: the console by the management
host name only, a sample proxy deployed on the manager and delivered to
every worker, requests spread over the workers (counted from each worker's
log-mediator lines), and a stopped worker routed around."""

from __future__ import annotations

import html
import http.client
import ssl
import time

from ..configedit import get_values
from ..context import Run
from ..params import NodeView
from ..step import Check, Checks
from ..textview import TextShown, text_table
from . import carbonlog as L
from .cluster_test import PROXY, TIMINGS, cluster_nodes, member_id, proxy_path, read_log, start_node
from .common import CARBON_NS

SYNAPSE = "http://ws.apache.org/ns/synapse"


def lb_endpoint(run: Run) -> tuple[str, int, int]:
    """The load balancer's address and HTTP/HTTPS ports (nginx host, or the ELB node's host)."""
    p, lb = run.params, run.params.load_balancer
    if lb.kind == "elb":
        v = next(v for v in run.views.values() if v.node.role == "elb")
        return v.address, v.ports["pt_http"], v.ports["pt_https"]
    return str(p.hosts[lb.host or ""].address), lb.http_port, lb.https_port


def _request(addr: str, port: int, host: str, path: str, tls: bool, body: bytes | None = None):
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


def console_checks(run: Run) -> Checks:
    addr, _, https = lb_endpoint(run)
    names = run.params.cluster.hostnames
    checks = []
    status, loc, _ = _request(addr, https, names.management, "/carbon/", True)
    checks.append(Check(addr, f"https://{names.management}/carbon/", "302 to /carbon/admin/login.jsp",
                        f"{status} {loc}".strip(), status == 302 and loc.endswith("/carbon/admin/login.jsp"),
                        "the management vhost must send /carbon/ to the manager's servlet HTTPS port (01)"))
    status, _, body = _request(addr, https, names.management, "/carbon/admin/login.jsp", True)
    checks.append(Check(addr, f"https://{names.management}/carbon/admin/login.jsp", "200 with the login form",
                        f"{status}{' with the login form' if 'login_action.jsp' in body else ''}",
                        status == 200 and "login_action.jsp" in body, "see the check above"))
    status, loc, body = _request(addr, https, names.cluster, "/carbon/", True)
    login = status == 302 and "login.jsp" in loc or "login_action.jsp" in body
    checks.append(Check(addr, f"https://{names.cluster}/carbon/", "no console", f"{status} {loc}".strip()
                        + (" (the console!)" if login else ""), not login,
                        "the cluster host name must not reach a console: route it to the workers' PassThrough ports"))
    return Checks("the management console through the load balancer", checks)


def proxy_xml(marker: str) -> bytes:
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<proxy xmlns="{SYNAPSE}" name="{PROXY}" '
            'transports="http https" startOnLoad="true">\n  <target>\n    <inSequence>\n'
            f'      <log level="custom">\n        <property name="runbook" value="{marker}"/>\n'
            '      </log>\n      <respond/>\n    </inSequence>\n  </target>\n</proxy>\n').encode()


def deploy_targets(run: Run) -> list[NodeView]:
    """The manager; where a layout has none (004), every node (that document's advice)."""
    views = [v for v in cluster_nodes(run) if v.node.role in ("manager", "worker", "member")]
    return [v for v in views if v.node.role == "manager"] or views


def serving(run: Run) -> list[NodeView]:
    return [v for v in cluster_nodes(run) if v.node.role in ("worker", "member")]


def _deployed(seg: str) -> int:
    return L.count(seg, f"ProxyService named '{PROXY}' has been")


def deploy_proxy(run: Run, marker: str, timeout: float = 90) -> Checks:
    before = {v.name: _deployed(L.latest_run(read_log(run, v))) for v in cluster_nodes(run)}
    wanted = {v.name: v for v in deploy_targets(run) + serving(run)}
    same = all(run.host(v.host_name).read_file(proxy_path(v)) == proxy_xml(marker) for v in deploy_targets(run))
    if same and all(before[name] > 0 for name in wanted):  # a second run: nothing to deploy
        return Checks(f"proxy {PROXY} already deployed on every node (unchanged)", [
            Check(v.host_name, f"{name}: proxy {PROXY}", "deployed", "deployed (since this node's start)", True)
            for name, v in wanted.items()])
    t0 = time.monotonic()
    for v in deploy_targets(run):
        run.host(v.host_name).run("cat > %s.tmp && mv %s.tmp %s", proxy_path(v), proxy_path(v), proxy_path(v),
                                  stdin=proxy_xml(marker))
    deadline, done = time.monotonic() + timeout, {}
    while len(done) < len(wanted) and time.monotonic() < deadline:
        for name, v in wanted.items():
            if name not in done and _deployed(L.latest_run(read_log(run, v))) > before[name]:
                done[name] = round(time.monotonic() - t0, 1)
        time.sleep(1)
    TIMINGS["proxy_to_all_workers"] = round(time.monotonic() - t0, 2)
    checks = []
    for name, v in wanted.items():
        ok = name in done
        found = f"deployed after {done[name]}s" if ok else f"not deployed within {timeout:.0f}s"
        checks.append(Check(v.host_name, f"{name}: proxy {PROXY}", "deployed", found, ok,
                            "" if ok else never_delivered(run, v)))
    return Checks(f"proxy {PROXY} deployed on {', '.join(v.name for v in deploy_targets(run))}, "
                  "delivered to every worker", checks)


def never_delivered(run: Run, v: NodeView) -> str:
    data = run.host(v.host_name).read_file(v.conf("carbon.xml")) or b""
    enabled = get_values(data, "/c:Server/c:DeploymentSynchronizer/c:Enabled", CARBON_NS) if data else []
    checkout = get_values(data, "/c:Server/c:DeploymentSynchronizer/c:AutoCheckout", CARBON_NS) if data else []
    if enabled != ["true"] or checkout != ["true"]:
        return (f"{v.name}'s deployment synchroniser is off (carbon.xml DeploymentSynchronizer Enabled="
                f"{enabled or 'absent'}, AutoCheckout={checkout or 'absent'}): it never receives the manager's "
                "artifacts; configure it (06) or copy the proxy to it")
    return f"{v.name} has the synchroniser on but received nothing: see the SVN lines in {v.name}'s log"


class Spread(TextShown):
    """Requests per worker: a table and a bar chart (SVG in Jupyter, text elsewhere)."""

    def __init__(self, title: str, counts: dict[str, int]):
        self.title, self.counts = title, counts

    def text(self) -> str:
        top = max(self.counts.values(), default=0) or 1
        rows = [("WORKER", "REQUESTS", "")] + [(k, str(n), "#" * round(30 * n / top)) for k, n in self.counts.items()]
        return "\n".join([self.title, *text_table(rows)])

    def _repr_html_(self) -> str:
        top, bar_h = max(self.counts.values(), default=0) or 1, 22
        bars = "".join(
            f'<text x="0" y="{i * bar_h + 15}" font-size="12">{html.escape(k)}</text>'
            f'<rect x="90" y="{i * bar_h + 3}" width="{300 * n / top:.0f}" height="16" fill="#4a7fb5"/>'
            f'<text x="{95 + 300 * n / top:.0f}" y="{i * bar_h + 15}" font-size="12">{n}</text>'
            for i, (k, n) in enumerate(self.counts.items()))
        return (f"<b>{html.escape(self.title)}</b><br><svg width='440' height='{bar_h * len(self.counts) + 6}' "
                f"xmlns='http://www.w3.org/2000/svg'>{bars}</svg>")


def send_requests(run: Run, n: int, marker: str, label: str = "") -> tuple[Checks, Spread]:
    """N requests to /services/PROXY through the load balancer's HTTP port by
    the cluster host name; each worker's share read from its own log."""
    addr, http_port, _ = lb_endpoint(run)
    needle = f"runbook = {marker}"
    before = {v.name: L.count(read_log(run, v), needle) for v in serving(run)}
    t0 = time.monotonic()
    codes = [_request(addr, http_port, run.params.cluster.hostnames.cluster, f"/services/{PROXY}", False,
                      b"<runbook-cluster-test/>")[0] for _ in range(n)]
    TIMINGS[f"requests{label}"] = round(time.monotonic() - t0, 2)
    time.sleep(0.5)
    counts = {v.name: L.count(read_log(run, v), needle) - before[v.name] for v in serving(run)}
    ok = sum(1 for c in codes if c == 200)
    checks = [Check(addr, f"{n} requests to http://{run.params.cluster.hostnames.cluster}/services/{PROXY}",
                    f"{n} x 200", f"{ok} x 200" + (f", others: {sorted(set(codes) - {200})}" if ok < n else ""),
                    ok == n, "see the load balancer's log and the workers' logs")]
    return Checks("requests through the load balancer" + label, checks), Spread(f"requests per worker{label}", counts)


def spread_checks(run: Run, spread: Spread, stopped: str | None = None) -> Checks:
    checks = []
    for v in serving(run):
        n = spread.counts.get(v.name, 0)
        if v.name == stopped:
            checks.append(Check(v.host_name, f"{v.name} (stopped) got", "0", str(n), n == 0,
                                "the load balancer still sends traffic to a stopped node"))
            continue
        fix = ""
        if n == 0:
            fix = (f"{v.name} has subDomain `{v.sub_domain}`: the load balancer sends worker traffic only to "
                   "subDomain `worker` (ERRATA E9)" if v.sub_domain not in (None, "worker")
                   else f"{v.name} got no request: check that the load balancer lists it ({member_id(v)} in the "
                        "cluster, its PassThrough port in nginx's upstream) and that it deployed the proxy")
        checks.append(Check(v.host_name, f"{v.name} served", "at least 1", str(n), n > 0, fix))
    return Checks("every live worker takes traffic", checks)


def stop_node(run: Run, v: NodeView) -> Check:
    cmd = start_command_stop(v)
    run.host(v.host_name).run(cmd)
    from .cluster_test import running
    gone = not running(run, v)
    return Check(v.host_name, f"`{cmd}`", "stopped", "stopped" if gone else "still running", gone,
                 "the stop command did not end the process: see its log")


def start_command_stop(v: NodeView) -> str:
    from .clustering import start_command
    parts = start_command(v).split()
    return f"{parts[0]} {parts[1]} stop"


def wait_left(run: Run, gone: NodeView, timeout: float = 30) -> Checks:
    from .cluster_test import views_now
    deadline = time.monotonic() + timeout
    others = [v for v in cluster_nodes(run) if v.name != gone.name]
    while True:
        seen = views_now(run)
        still = [v.name for v in others if member_id(gone) in seen[v.name]]
        if not still or time.monotonic() > deadline:
            break
        time.sleep(1)
    return Checks(f"{gone.name} logged as left", [
        Check(v.host_name, f"{v.name} no longer sees {gone.name}", "left", "still a member" if v.name in still
              else "left", v.name not in still, "membership should drop a stopped node within seconds")
        for v in others])


def restart(run: Run, v: NodeView, timeout: float = 90) -> Check:
    return start_node(run, v, timeout)


def traffic(run: Run, n: int, marker: str, stopped: str | None = None, label: str = "") -> None:
    """Send the requests, show the spread (table and chart), then require it."""
    from ..step import show, verify
    checks, spread = send_requests(run, n, marker, label)
    show(spread)
    verify(checks)
    verify(spread_checks(run, spread, stopped))


def route_around(run: Run, n: int, marker: str, timeout: float = 90) -> None:
    """Stop the last worker: the others log it as left and the load balancer
    routes around it; start it again: it rejoins and takes traffic."""
    from ..step import verify
    from .cluster_test import wait_joined
    victim = serving(run)[-1]
    verify(Checks(f"stop {victim.name}", [stop_node(run, victim)]))
    t0 = time.monotonic()
    verify(wait_left(run, victim))
    TIMINGS["member_left_seen"] = round(time.monotonic() - t0, 2)
    traffic(run, n, marker, stopped=victim.name, label=f" with {victim.name} stopped")
    verify(Checks(f"start {victim.name} again", [restart(run, victim, timeout)]))
    verify(wait_joined(run, timeout))
    traffic(run, n, marker, label=f" after {victim.name} rejoined")
