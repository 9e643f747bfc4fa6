"""08's way back in: waiting until the load balancer routes to every live worker
again, and to one restarted worker (nginx keeps a failed server out for its
fail_timeout; the ELB suspends a failed member), and why a live worker gets no
request. Used by 08's traffic steps and the rolling apply."""

from __future__ import annotations

import time

from ...core.step import Check, Checks
from ...params import NodeView
from ...core.context import Run
from .lifecycle import TIMINGS, member_id
from .artifact import artifact_for
from .through_lb import file_sub_domain, lb_endpoint, request, serving


# nginx's defaults, which the runbook's upstreams keep (nginx_conf.py writes no
# max_fails/fail_timeout): one failed attempt (a refused connection while a node
# restarts) keeps a server out for fail_timeout, 10 s (ngx_http_upstream_module,
# `server`); with every server failed nginx answers 502 at once ("no live upstreams").
NGINX_FAIL_TIMEOUT = 10.0
ROUTED_TIMEOUT = 3 * NGINX_FAIL_TIMEOUT  # the ELB's suspension is shorter; a real node's first answers may be slow


def wait_routed(run: Run, marker: str, stopped: str | None = None, timeout: float = ROUTED_TIMEOUT) -> Checks:
    """Before the spread is judged: wait until the load balancer routes to
    every live worker again. A worker restarted just before (08 restarts every
    node whose files changed) may have refused a request while it started, and
    nginx then keeps it out for its fail_timeout, answering 502 when it holds
    them all failed (issue 21: 153 of 534 requests failed so). Probes go every
    second, one per worker, until each live worker has served one; the
    requests counted after start afresh."""
    addr, http_port, _ = lb_endpoint(run)
    art = artifact_for(run)
    live = [v for v in serving(run) if v.name != stopped]
    before = {v.name: art.served(run, v, marker) for v in live}
    t0, deadline, seen = time.monotonic(), time.monotonic() + timeout, {}
    while True:
        for _ in live:
            request(addr, http_port, run.params.cluster.hostnames.cluster, art.request_path(marker), False, art.body())
        for v in live:
            if v.name not in seen and art.served(run, v, marker) > before[v.name]:
                seen[v.name] = round(time.monotonic() - t0, 1)
        if len(seen) == len(live) or time.monotonic() > deadline:
            break
        time.sleep(1)
    TIMINGS["routed"] = round(time.monotonic() - t0, 2)
    return Checks("the load balancer routes to every live worker (nginx keeps a failed server out for "
                  f"fail_timeout, {NGINX_FAIL_TIMEOUT:.0f} s)", [
        Check(v.host_name, f"{v.name} serves a probe through the load balancer", f"within {timeout:.0f}s",
              f"after {seen[v.name]}s" if v.name in seen else "never", v.name in seen,
              "" if v.name in seen else no_traffic_fix(run, v))
        for v in live])


def no_traffic_fix(run: Run, v: NodeView) -> str:
    """Why live worker V gets no request through the load balancer, as far as its files tell."""
    sub = file_sub_domain(run, v)
    if sub not in (None, "worker") and run.params.load_balancer.kind == "elb":
        return (f"{v.name}'s axis2.xml has subDomain `{sub}`: the load balancer sends worker traffic only to "
                "subDomain `worker` (ERRATA E9): re-run 06 with apply=True and restart it")
    return (f"{v.name} got no request: check that the load balancer lists it ({member_id(v)} in the cluster, its "
            f"port in nginx's upstream, not marked `down`: an interrupted rolling apply leaves its node so, "
            f"`runbook resume RUN` or 01 writes the vhosts again) and that it deployed the {artifact_for(run).noun}")


def wait_takes_traffic(run: Run, v: NodeView, marker: str, timeout: float = 90) -> Checks:
    """A load balancer keeps a failed member out for a while (nginx: fail_timeout,
    10 s by default; the ELB: its suspension): send a few requests every two
    seconds until V serves one."""
    addr, http_port, _ = lb_endpoint(run)
    art = artifact_for(run)
    before = art.served(run, v, marker)
    t0, deadline = time.monotonic(), time.monotonic() + timeout
    while True:
        for _ in range(len(serving(run))):
            request(addr, http_port, run.params.cluster.hostnames.cluster, art.request_path(marker), False,
                     art.body())
        got = art.served(run, v, marker) > before
        if got or time.monotonic() > deadline:
            break
        time.sleep(2)
    TIMINGS["rejoined_to_traffic"] = round(time.monotonic() - t0, 2)
    return Checks(f"{v.name} takes traffic again", [Check(
        v.host_name, f"{v.name} serves a request through the load balancer", "within "
        f"{timeout:.0f}s", f"after {TIMINGS['rejoined_to_traffic']}s" if got else "never", got,
        "the load balancer never sent it traffic again: see its log")])
