"""08 · Start the cluster and prove it works (issue 8), using only what a
real node exposes: SSH, its own start script, its log file and its HTTP
ports. Nothing here knows whether the node is WSO2 or the lab's stand-in.

Start the load balancer node (WSO2 ELB layouts), the manager, then each
worker; wait for each to log start-up and for the others to log it as
joined; check the console through the management host name only; deploy a
test artifact on the manager (cluster/artifact.py: a proxy with a log
mediator for ESB/EI, a webapp for AS; on every node where there
is no manager, 004) and wait for every worker to deploy it; send requests
through the load balancer and count each worker's log-mediator lines; stop
a worker and see the cluster and the load balancer route around it."""

from __future__ import annotations

import html
import time
from typing import Iterator

from ...core import evidence
from . import proof  # 08's evidence for the run report
from ...core.context import Run
from ...core.cells import report, require, show
from ...core.following import note_needs_apply
from ...core.step import Check, Checks
from ...core.textview import TextShown, text_table
from ...params import NodeView
from . import carbonlog as L
from .startfaults import explain
from ..nodes.clustering import script_command
from ..securevault.startup import give_password, start_args, take_back

CLUSTER_ROLES = ("manager", "worker", "member")
TIMINGS: dict[str, float] = {}   # the latest figures, for benchmarks/bench_cluster_test.py


# -- where things are on a node ------------------------------------------
def log_path(v: NodeView) -> str:
    return v.path(v.spec.log_file)


def pid_path(v: NodeView) -> str:
    return v.path(v.spec.pid_file)


def read_log(run: Run, v: NodeView) -> str:
    data = run.host(v.host_name).read_file(log_path(v))
    return data.decode("utf-8", "replace") if data else ""


def running(run: Run, v: NodeView) -> bool:
    """The pid in the node's pid file is a live process (an exited one not yet reaped does not count)."""
    return run.host(v.host_name).run("ps -o stat= -p \"$(cat %s 2>/dev/null)\" 2>/dev/null | grep -qv '^Z'",
                                     pid_path(v)).ok


def cluster_nodes(run: Run) -> list[NodeView]:
    """The start order: ELB nodes, the manager(s), then workers/members in params order."""
    views = run.selected_nodes()
    order = {"elb": 0, "manager": 1, "member": 2, "worker": 2}
    return sorted([v for v in views if v.node.role in order], key=lambda v: order[v.node.role])


def members_of(run: Run) -> list[NodeView]:
    return [v for v in cluster_nodes(run) if v.node.role in CLUSTER_ROLES]


def member_id(v: NodeView) -> str:
    return f"{v.local_member_host}:{v.node.local_member_port}"


# -- start ------------------------------------------------------------------
def start_node(run: Run, v: NodeView, timeout: float) -> Check:
    """Start V through its own start script (unless running) and wait for
    `WSO2 Carbon started` or the first ERROR of this start."""
    h = run.host(v.host_name)
    before = read_log(run, v).count(L.STARTING)
    command = script_command(v, "start") + start_args(run, v)  # -Dkey.password=true: the key has its own
    changed = changed_since_start(run, v) if running(run, v) else []
    if running(run, v) and not changed:
        seg, how = L.latest_run(read_log(run, v)), "already running, left as it is"
    else:
        how = "started"
        evidence.note(f"starting {v.name} on {v.host_name}")
        if changed:  # it runs with the old files: restart it, as an operator would
            stop_node(run, v, timeout)
            wait_left(run, v)  # the others (and the ELB) drop the old instance before the new one joins
            how = f"restarted (changed since its start: {', '.join(changed[:3])}{' …' if len(changed) > 3 else ''})"
            before = read_log(run, v).count(L.STARTING)
        give_password(run, v)  # Secure Vault: password-tmp, 0600, just before the start (issue 19)
        h.run(command)
        deadline = time.monotonic() + timeout
        while True:
            text = read_log(run, v)
            seg = L.latest_run(text) if text.count(L.STARTING) > before else ""
            if L.started_line(seg) or L.startup_errors(seg) or time.monotonic() > deadline:
                break
            if seg and not running(run, v):
                time.sleep(0.3)
                seg = L.latest_run(read_log(run, v))
                break
            time.sleep(0.5)
        take_back(run, v)  # gone after the start, whether the node removed it or not
    ok_line, errors = L.started_line(seg), L.startup_errors(seg)
    if errors:
        found, fix = f"ERROR: {L.message(errors[0])}", explain(errors[0])
    elif ok_line and how.startswith("already"):  # its start-up line is from an earlier start: not quoted as news
        found, fix = how, ""
    elif ok_line:
        found, fix = f"{how}: {L.message(ok_line)}", ""
    else:
        found, fix = f"no start-up line within {timeout:.0f}s", f"see {log_path(v)} on {v.host_name}"
    return Check(v.host_name, f"{v.name}: `{command}`", "WSO2 Carbon started", found, bool(ok_line) and not errors, fix)


def stop_command(v: NodeView) -> str:
    return script_command(v, "stop", flags=False)


def stop_node(run: Run, v: NodeView, timeout: float = 60) -> Check:
    """`<script> stop`, then wait (at most TIMEOUT s) for the pid to exit: the
    real `stop` sends TERM to the pid in wso2carbon.pid and returns at once
    (carbon-kernel v4.4.16 bin/wso2server.sh, product-ei v6.1.1 integrator.sh);
    the JVM shuts down after. Says what it saw."""
    cmd, h = stop_command(v), run.host(v.host_name)
    pid = h.run("cat %s 2>/dev/null", pid_path(v)).stdout.strip()
    was = running(run, v)
    t0 = time.monotonic()
    h.run(cmd)
    returned = time.monotonic() - t0
    while running(run, v) and time.monotonic() - t0 < timeout:
        time.sleep(0.5)
    gone, waited = not running(run, v), time.monotonic() - t0
    if not was:
        found = "was not running"
    elif gone:
        found = f"pid {pid} exited {waited:.1f}s after TERM (the script returned after {returned:.1f}s)"
    else:
        found = f"pid {pid} still running {timeout:.0f}s after TERM"
    return Check(v.host_name, f"`{cmd}`", "the process exits", found, gone,
                 "" if gone else f"the node ignores TERM: read {log_path(v)}; end it with kill {pid} or kill -9")


def wait_left(run: Run, gone: NodeView, timeout: float = 30) -> Checks:
    deadline = time.monotonic() + timeout
    others = [v for v in cluster_nodes(run) if v.name != gone.name]
    while True:
        seen = views_now(run)
        still = [v.name for v in others if member_id(gone) in seen[v.name]]
        if not still or time.monotonic() > deadline:
            break
        evidence.note(f"waiting for {', '.join(still)} to log {gone.name} as left")
        time.sleep(1)
    proof.left(run, gone, member_id(gone), others, read_log)
    return Checks(f"{gone.name} logged as left", [
        Check(v.host_name, f"{v.name} no longer sees {gone.name}", "left", "still a member" if v.name in still
              else "left", v.name not in still, "membership should drop a stopped node within seconds")
        for v in others])


def changed_since_start(run: Run, v: NodeView) -> list[str]:
    """Files under the node's conf directory written after its start script
    wrote the pid file: a running node still has the old values."""
    res = run.host(v.host_name).run("find %s -type f -newer %s 2>/dev/null | sort", v.path(v.spec.conf_dir),
                                    pid_path(v))
    conf = v.path(v.spec.conf_dir).rstrip("/") + "/"
    return [ln[len(conf):] if ln.startswith(conf) else ln for ln in (res.stdout or "").splitlines()
            if ln and ".bak." not in ln and ".runbook-tmp" not in ln]


def start_cluster(run: Run, timeout: float = 90) -> Checks:
    t0 = time.monotonic()
    checks = []
    for v in cluster_nodes(run):
        checks.append(start_node(run, v, timeout))
    TIMINGS["start_all"] = round(time.monotonic() - t0, 2)
    proof.started(run, cluster_nodes(run), read_log)
    return Checks("start-up, in order (load balancer, manager, workers one at a time)", checks)


# -- membership -----------------------------------------------------------
def views_now(run: Run) -> dict[str, list[str]]:
    """Who each node sees as a member, from the logs since their latest starts.
    A Hazelcast node logs "Member joined" only for members that join after it
    (its listener registers once it has joined: carbon-kernel v4.4.16
    WKABasedMembershipScheme.joinGroup), and Hazelcast's own member list is
    silenced (com.hazelcast SEVERE in logging-bridge.properties). So a late
    joiner X sees Y when Y's current run logged X's current instance joining
    (the uuid of X's "Local member" line) and not leaving since, Y's run has not
    shut down, and X has not logged Y leaving."""
    segs = {v.name: L.latest_run(read_log(run, v)) for v in cluster_nodes(run)}
    out = {v.name: L.members(segs[v.name], elb=v.node.role == "elb") for v in cluster_nodes(run)}
    uids = {v.name: L.local_uuid(segs[v.name]) for v in members_of(run)}
    for x in members_of(run):
        for y in members_of(run):
            if y.name == x.name or member_id(y) in out[x.name] or not uids[x.name] or not uids[y.name]:
                continue
            if uids[x.name] in L.member_uuids(segs[y.name]) and not L.shut_down(segs[y.name]) \
                    and uids[y.name] not in L.left_uuids(segs[x.name]):
                out[x.name].append(member_id(y))
    return out


def expected_members(run: Run, v: NodeView) -> list[str]:
    """Every other cluster member (and, for an ELB, every member)."""
    return [member_id(o) for o in members_of(run) if o.name != v.name]


def wait_joined(run: Run, timeout: float = 60, t0: float | None = None) -> Checks:
    deadline = time.monotonic() + timeout
    while True:
        seen = views_now(run)
        missing = {v.name: [m for m in expected_members(run, v) if m not in seen[v.name]] for v in cluster_nodes(run)}
        if not any(missing.values()) or time.monotonic() > deadline:
            break
        waited = timeout - (deadline - time.monotonic())
        if round(waited) % 5 == 0:
            evidence.note(f"waiting for membership {waited:.0f}/{timeout:.0f} s")
        time.sleep(1)
    if t0 is not None:
        TIMINGS["start_to_all_joined"] = round(time.monotonic() - t0, 2)
    names = {member_id(o): o.name for o in members_of(run)}
    checks = []
    for v in cluster_nodes(run):
        want = [names[m] for m in expected_members(run, v)]
        got = [names[m] for m in names if m in seen[v.name]] + [m for m in seen[v.name] if m not in names]
        lost = [names[m] for m in missing[v.name]]
        fix = (f"{v.name} does not see {', '.join(lost)}: check that each of them is running, in domain "
               f"{run.params.cluster.domain}, advertises its own IP as localMemberHost (not 127.0.0.1), and that "
               "the well-known members name at least one live member (05/06; in an ELB layout every node lists the "
               "ELB)") if lost else ""
        checks.append(Check(v.host_name, f"{v.name} sees as members", ", ".join(want) or "(none)",
                            ", ".join(got) or "(none)", not lost, fix))
    return Checks("cluster membership, as each node logs it", checks)


class Table(TextShown):
    def __init__(self, title: str, rows: list[list[str]]):
        self.title, self.rows = title, rows

    def text(self) -> str:
        return "\n".join([self.title, *text_table(self.rows)])

    def _repr_html_(self) -> str:
        cell = "style='text-align:left;vertical-align:top;overflow-wrap:anywhere'"  # JupyterLab right-aligns
        head = "".join(f"<th {cell}>{html.escape(c)}</th>" for c in self.rows[0])
        body = "".join("<tr>" + "".join(f"<td {cell}>{html.escape(c)}</td>" for c in r) + "</tr>" for r in self.rows[1:])
        return f"<b>{html.escape(self.title)}</b><table><tr>{head}</tr>{body}</table>"


def membership_table(run: Run) -> Table:
    seen = views_now(run)
    cols = members_of(run)
    rows = [["node \\ member", *[o.name for o in cols]]]
    for v in cluster_nodes(run):
        rows.append([v.name, *["self" if o.name == v.name else ("joined" if member_id(o) in seen[v.name] else "-")
                               for o in cols]])
    proof.membership(run, rows, cluster_nodes(run), read_log)
    return Table("membership as every node logs it", rows)


# -- the notebook's cells ---------------------------------------------------
NEEDS_APPLY = "it starts, stops or deploys, so it runs only with apply = True"


class NotRun(TextShown):
    def __init__(self, title: str, why: str = NEEDS_APPLY):
        self.title, self.why = title, why

    def text(self) -> str:
        return f"{self.title}: not run (apply=False): {self.why}."


class NoCluster(NotRun):
    def text(self) -> str:
        return (f"{self.title}: nothing to do: no manager, worker or member node is selected by these params "
                "(a broker-only layout is started and proved by 07_broker).")


def do(run: Run, title: str, fn, reads_only: bool = False, ready=None) -> None:
    """Run FN (it starts or stops nodes, or sends traffic) with apply=True; when
    READS_ONLY, in a plan-only run too if every node runs (READY: why not yet, "").
    FN returns or yields its findings: a Checks is verified as it comes
    (papermill stops at a failure; a plan-only run shows it and goes on),
    anything else shown. The library functions never show or verify."""
    if not members_of(run):  # e.g. document 003: brokers only; 07 proves their cluster
        show(NoCluster(title))
        return
    if not run.apply:
        down = [v.name for v in cluster_nodes(run) if not running(run, v)] if reads_only else []
        why = NEEDS_APPLY if not reads_only else (f"it only reads, but on running nodes (not running: "
                                                  f"{', '.join(down)}; starting them needs apply = True)") if down else ready() if ready else ""
        if why:
            show(NotRun(title, why))
            if not reads_only:
                note_needs_apply(run, title)
            return
    result = fn()
    for found in result if isinstance(result, Iterator) else [result]:
        if isinstance(found, Checks):
            require(found, run) if run.apply else report(found, run)  # plan only: shown, recorded, goes on
        elif found is not None:
            report(found, run)


def plan(run: Run) -> Table:
    """What the test will run, in order, before it runs anything."""
    rows = [["#", "host", "node", "command", "log file"]]
    for i, v in enumerate(cluster_nodes(run), 1):
        rows.append([str(i), v.host_name, v.name, script_command(v, "start") + start_args(run, v), log_path(v)])
    return Table("start order", rows)


def finish(run: Run, leave_running: bool) -> Checks:
    """Leave the cluster running (the default) or stop every node."""
    if leave_running:
        return Checks("nodes left running", [Check(v.host_name, v.name, "running", "running" if running(run, v)
                                                   else "stopped", running(run, v)) for v in cluster_nodes(run)])
    return Checks("nodes stopped", [stop_node(run, v) for v in reversed(cluster_nodes(run))])
