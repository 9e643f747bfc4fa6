"""08 · Traffic through the load balancer: a test artifact
(cluster/artifact.py: a proxy for ESB/EI, a webapp for AS) deployed on the
manager and delivered to every worker, requests spread over the workers
(counted from each worker's own log), and a stopped worker routed around.
The console check is here too; the way in is cluster/through_lb.py."""

from __future__ import annotations

import html
import time
from typing import Iterator, Union

from ...configedit import get_values
from ...core.context import Run, open_run
from ...core.step import Check, Checks
from ...core.textview import TextShown, text_table
from ...params import NodeView
from ...core import evidence
from . import carbonlog as L
from . import proof
from .artifact import artifact_for
from .routing import no_traffic_fix, wait_routed, wait_takes_traffic
from .through_lb import file_sub_domain, lb_endpoint, not_applicable, request, serving
from .undeploy import present, record_copy, remove_artifact as _remove
from .lifecycle import (TIMINGS, cluster_nodes, read_log, start_node, stop_node, wait_joined,
                            wait_left)
from ..shared.namespaces import CARBON_NS

__all__ = ["artifact_missing", "console_checks", "deploy_artifact", "redeploy_for_load", "remove_artifact", "route_around", "send_requests", "spread_report", "traffic"]


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


def deploy_targets(run: Run) -> list[NodeView]:
    """The manager; with rsync, its source node; where a layout has neither (004 without a
    synchroniser), every node."""
    views = [v for v in cluster_nodes(run) if v.node.role in ("manager", "worker", "member")]
    if run.params.deployment_sync.kind == "rsync":
        return [v for v in views if v.name == run.params.deployment_sync.source] or views
    return [v for v in views if v.node.role == "manager"] or views


def deploy_artifact(run: Run, marker: str, timeout: float = 90) -> Checks:
    """Write the test artifact on the deploy targets (the manager) and wait
    until every node has logged its deployment (workers: through the
    deployment synchroniser)."""
    art = artifact_for(run)
    if not_applicable(run):
        return Checks(f"{art.noun}: not deployed ({not_applicable(run)})", [])
    before = {v.name: art.deployments(L.latest_run(read_log(run, v))) for v in cluster_nodes(run)}
    wanted = {v.name: v for v in deploy_targets(run) + serving(run)}
    same = all(run.host(v.host_name).read_file(art.path(v)) == art.content(marker) for v in deploy_targets(run))
    if same and all(before[name] > 0 for name in wanted):  # a second run: nothing to deploy
        return Checks(f"{art.noun} already deployed on every node (unchanged)", [
            Check(v.host_name, f"{name}: {art.noun}", "deployed", "deployed (since this node's start)", True)
            for name, v in wanted.items()])
    had = {name: present(run, v, art) for name, v in wanted.items()}
    t0 = time.monotonic()
    for v in deploy_targets(run):
        path, h = art.path(v), run.host(v.host_name)
        backup = h.backup(path) if had[v.name] else None
        h.run("mkdir -p \"$(dirname %s)\" && cat > %s.tmp && mv %s.tmp %s", path, path, path, path,
              stdin=art.content(marker))
        record_copy(run, v, art, had[v.name], backup)  # for `runbook rollback`
    deadline, done = time.monotonic() + timeout, {}
    while len(done) < len(wanted) and time.monotonic() < deadline:
        if round(time.monotonic() - t0) % 5 == 0:
            evidence.note(f"waiting for the {art.noun} on every node: {len(done)}/{len(wanted)} deployed, "
                          f"{time.monotonic() - t0:.0f}/{timeout:.0f} s")
        for name, v in wanted.items():
            if name not in done and art.deployments(L.latest_run(read_log(run, v))) > before[name]:
                done[name] = round(time.monotonic() - t0, 1)
                if not had[name] and name not in {t.name for t in deploy_targets(run)}:  # delivered: this run's copy too
                    record_copy(run, v, art, False, None)
        time.sleep(1)
    TIMINGS["proxy_to_all_workers"] = round(time.monotonic() - t0, 2)
    checks = []
    for name, v in wanted.items():
        ok = name in done
        found = f"deployed after {done[name]}s" if ok else f"not deployed within {timeout:.0f}s"
        checks.append(Check(v.host_name, f"{name}: {art.noun}", "deployed", found, ok,
                            "" if ok else never_delivered(run, v)))
    return Checks(f"{art.noun} deployed on {', '.join(v.name for v in deploy_targets(run))}, "
                  "delivered to every worker", checks)


def artifact_missing(run: Run, marker: str) -> str:
    """Why requests cannot be sent in a plan-only run ("" when they can): the
    test artifact must already be deployed on every node that serves (deploying
    it needs apply = True)."""
    art = artifact_for(run)
    if not_applicable(run):
        return ""
    missing = [v.name for v in deploy_targets(run) if run.host(v.host_name).read_file(art.path(v)) != art.content(marker)]
    missing += [v.name for v in serving(run) if v not in deploy_targets(run)
                and art.deployments(L.latest_run(read_log(run, v))) == 0]
    return (f"the {art.noun} is not deployed on {', '.join(missing)} (deploying it needs apply = True)"
            if missing else "")


def redeploy_for_load(params_file: str, marker: str = "runbook-08") -> Checks:
    """08 removes its test artifact at its end (issue 18); a load test or a rolling
    apply that must prove traffic reaches each node deploys it again first."""
    run = open_run(params_file, apply=True)
    try:
        return deploy_artifact(run, marker)
    finally:
        run.close()


def remove_artifact(run: Run, timeout: float = 90) -> Checks:
    """The artifact removed from where deploy_artifact wrote it, the removal proven on every node."""
    return _remove(run, deploy_targets(run), timeout)


def never_delivered(run: Run, v: NodeView) -> str:
    if run.params.deployment_sync.kind == "rsync":
        src = run.params.deployment_sync.source
        return (f"the rsync synchronisation from {src} has not delivered to {v.name}: see rsync.log in "
                f"~/rsync-for-carbon-depsync/ on {src}'s host and re-run 06's rsync step")
    data = run.host(v.host_name).read_file(v.file("carbon")) or b""
    enabled = get_values(data, "/c:Server/c:DeploymentSynchronizer/c:Enabled", CARBON_NS) if data else []
    checkout = get_values(data, "/c:Server/c:DeploymentSynchronizer/c:AutoCheckout", CARBON_NS) if data else []
    if enabled != ["true"] or checkout != ["true"]:
        return (f"{v.name}'s deployment synchroniser is off (carbon.xml DeploymentSynchronizer Enabled="
                f"{enabled or 'absent'}, AutoCheckout={checkout or 'absent'}): it never receives the manager's "
                "artifacts; configure it (06) or copy the artifact to it")
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
    """N requests for the test artifact through the load balancer's HTTP port
    by the cluster host name; each worker's share read from its own log.
    At least two per serving node: N requests can reach at most N workers,
    and every live worker must take some (a cluster of 32 workers, issue 23)."""
    addr, http_port, _ = lb_endpoint(run)
    art = artifact_for(run)
    n = max(n, 2 * len(serving(run)))
    before = {v.name: art.served(run, v, marker) for v in serving(run)}
    t0 = time.monotonic()
    url = art.request_path(marker)
    codes = [request(addr, http_port, run.params.cluster.hostnames.cluster, url, False, art.body())[0]
             for _ in range(n)]
    TIMINGS[f"requests{label}"] = round(time.monotonic() - t0, 2)
    evidence.note(f"sent {n} requests through the load balancer{label}")
    time.sleep(0.5)
    counts = {v.name: art.served(run, v, marker) - before[v.name] for v in serving(run)}
    ok = sum(1 for c in codes if c == 200)
    proof.spread(f"requests per worker{label}", counts, codes)
    checks = [Check(addr, f"{n} requests to http://{run.params.cluster.hostnames.cluster}{url}",
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
        fix = no_traffic_fix(run, v) if n == 0 else ""
        checks.append(Check(v.host_name, f"{v.name} served", "at least 1", str(n), n > 0, fix))
    return Checks("every live worker takes traffic", checks)


def restart(run: Run, v: NodeView, timeout: float = 90) -> Check:
    return start_node(run, v, timeout)


Shown = Union[Checks, "Spread"]  # what a step of the test finds, verified (Checks) or shown by the cell


def traffic(run: Run, n: int, marker: str, stopped: str | None = None, label: str = "") -> Iterator[Shown]:
    """Send the requests; yield the spread (table and chart), then the checks on it
    (the cell verifies each as it comes: ``cluster_test.do``)."""
    if not_applicable(run):
        yield Checks(f"requests: not sent ({not_applicable(run)})", [])
        return
    yield wait_routed(run, marker, stopped)
    checks, spread = send_requests(run, n, marker, label)
    yield spread
    yield checks
    yield spread_checks(run, spread, stopped)


def route_around(run: Run, n: int, marker: str, timeout: float = 90) -> Iterator[Shown]:
    """Stop the last worker: the others log it as left and the load balancer
    routes around it; start it again: it rejoins and takes traffic. Yields each
    finding as it is made; the cell verifies it before the next step runs, so a
    failure stops the test there."""
    if not_applicable(run):
        yield Checks(f"stopping a worker: not tested ({not_applicable(run)})", [])
        return
    victim = serving(run)[-1]
    evidence.note(f"stopping {victim.name} to see the cluster route around it")
    yield Checks(f"stop {victim.name}", [stop_node(run, victim)])
    t0 = time.monotonic()
    yield wait_left(run, victim)
    TIMINGS["member_left_seen"] = round(time.monotonic() - t0, 2)
    if len(serving(run)) > 1:
        yield from traffic(run, n, marker, stopped=victim.name, label=f" with {victim.name} stopped")
    else:  # 001: one worker; nothing to route around it to
        yield no_member_left(run, victim, marker)
    yield Checks(f"start {victim.name} again", [restart(run, victim, timeout)])
    yield wait_joined(run, timeout)
    yield wait_takes_traffic(run, victim, marker, timeout)
    yield from traffic(run, n, marker, label=f" after {victim.name} rejoined")


def no_member_left(run: Run, victim: NodeView, marker: str) -> Checks:
    """With the only worker stopped the load balancer has nobody to send to: it
    must say so (the ELB: 503 "No application members available"; nginx: 502)
    rather than answer from somewhere else, such as the manager."""
    addr, http_port, _ = lb_endpoint(run)
    art = artifact_for(run)
    answers = [request(addr, http_port, run.params.cluster.hostnames.cluster, art.request_path(marker), False,
                        art.body()) for _ in range(3)]
    codes = sorted({status for status, _, _ in answers})
    ok = all(status in (502, 503, 504) for status, _, _ in answers)
    said = next((body.strip()[:60] for status, _, body in answers if status == 503 and body.strip()), "")
    return Checks(f"requests with {victim.name}, the only worker, stopped", [Check(
        addr, f"3 requests to http://{run.params.cluster.hostnames.cluster}{art.request_path(marker)}",
        "502/503: no member to send to", f"{codes}" + (f" {said!r}" if said else ""), ok,
        "" if ok else "the load balancer answered from a node that is not a worker: check its worker sub-domain "
                      "(ELB) or upstream (nginx)")])


def spread_report(params_file: str, marker: str = "runbook-08") -> str:
    """For `make demo`: the requests each worker served with 08's MARKER (proxy: since its latest start)."""
    run = open_run(params_file)
    try:
        art = artifact_for(run)
        counts = {v.name: art.served(run, v, marker, since_start=True) for v in serving(run)}
        return Spread("08 · requests per worker through the load balancer (since each worker's latest start)",
                      counts).text()
    finally:
        run.close()
