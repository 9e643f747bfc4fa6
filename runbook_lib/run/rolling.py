"""`runbook run PARAMS --apply --rolling [--batch N]` (issue 21): change a
cluster in service one node at a time, without dropping a request.

Order: the workers in batches of N (params order), then the manager; in a
layout without a manager (004) one member at a time. Before the nodes, the
sections that touch no node's running configuration in a way a restart
must follow at once (00 preflight, 01 the load balancer, 02 certificates,
03 databases) run as in a plain apply; after them, 07 (the brokers, which
are behind no load balancer). 08 is not run: its own test stops a worker
without draining it; run it after the rollout.

For each batch, each step written to the journal (journal.py) before it runs:

1. drain: nginx: its upstream servers marked `down`, reloaded, then wait
   until the load balancer has no connection open to it (nginx_drain.py).
   The WSO2 ELB has no drain: a clean stop through the node's script makes it
   leave the membership, and the ELB stops routing to it (CARBON-RUNTIME.md);
   requests in flight to it then may fail, and the load's figures count them.
2. apply: 04, 05 and 06 for these nodes only (`hosts=`), headless, as a plain run.
3. restart: through the node's own scripts (08's stop and start), only when
   a conf file is newer than its start (or it is not running); never twice:
   a node whose pid changed since the step began was restarted already.
4. wait: they see every other node as a member and every other node sees them, 08's
   test artifact deployed on it again (when 08 deployed one), and it answers
   on its own ports.
5. return: back into the load balancer (nginx: no server `down`).
6. prove: traffic reaches it through the load balancer (a worker serves a
   request for 08's artifact; the manager's console answers by the
   management name).

The rollout stops at the first step that fails, leaving the rest untouched
(and a node that did not come back out of the load balancer), and says why.
`runbook resume RUN` continues from the journal (resume.py)."""

from __future__ import annotations

import hashlib
import json
import socket
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

from ..core.context import ROOT, Run, open_run, resolve_params_path
from ..core.errors import RunbookError
from ..params import NodeView
from ..sections.cluster import carbonlog as L
from ..sections.cluster.artifact import artifact_for
from ..sections.cluster.through_lb import lb_endpoint, request
from ..sections.cluster.lifecycle import (changed_since_start, cluster_nodes, expected_members, member_id, members_of,
                                      pid_path, read_log, running, start_node, stop_node, views_now, wait_left)
from ..sections.cluster.routing import wait_takes_traffic
from ..sections.cluster.traffic import deploy_targets
from ..sections.lb import nginx_drain
from .journal import STEPS, Journal
from .rolling_plan import AFTER, BEFORE, NODE_SECTIONS, batches, lb_kind, plan_text

MARKER = "runbook-08"  # 08's test artifact logs it (notebooks/08_test_cluster.ipynb)
START_TIMEOUT, JOIN_TIMEOUT, IDLE_TIMEOUT = 90.0, 60.0, 60.0


class RolloutStopped(RunbookError):
    """A step failed: the rollout stopped there; the journal says where."""


def node_pid(run: Run, v: NodeView) -> str:
    """The node's pid while it runs, "" when it does not."""
    if not running(run, v):
        return ""
    return run.host(v.host_name).run("cat %s", pid_path(v)).stdout.strip()


def params_digest(params_file: str | Path) -> str:
    return hashlib.sha256(resolve_params_path(params_file).read_bytes()).hexdigest()


def ports_answer(v: NodeView) -> list[str]:
    """V's HTTP(S) ports that refuse a TCP connection (none: it answers)."""
    closed = []
    for key in ("http", "https", "pt_http", "pt_https"):
        if key in v.ports:
            try:
                socket.create_connection((v.address, v.ports[key]), timeout=3).close()
            except OSError:
                closed.append(f"{key} {v.ports[key]}")
    return closed


@dataclass
class Rollout:
    params_file: str
    out: Path
    size: int
    progress: Callable[[str], None] = print

    def __post_init__(self) -> None:
        self.run = open_run(self.params_file, apply=True)
        self.journal = Journal(self.out)
        self.bs = batches(self.run, self.size)

    # -- the steps ------------------------------------------------------
    def sections(self, names: list[str], hosts: str, folder: str) -> str:
        from .runner import run_sections  # papermill takes seconds to import: only a run needs it
        summary = run_sections(self.params_file, apply=True, only=names, hosts=hosts, out_dir=self.out / folder,
                               progress=lambda line: self.progress(f"    {line}"))
        if not summary.ok:
            bad = next(s for s in summary.sections if not s.ok)
            raise RolloutStopped(f"section {bad.name} failed{' on ' + hosts if hosts else ''}: "
                                 f"{bad.error or f'{bad.failed} checks failed'}",
                                 fix=f"read {bad.output}; correct it, then `runbook resume {self.out}`")
        return f"{len(summary.sections)} sections, {sum(s.changed for s in summary.sections)} changes"

    def drain(self, b: list[NodeView]) -> str:
        if lb_kind(self.run) == "elb":
            for v in b:
                check = stop_node(self.run, v)
                if not check.ok:
                    raise RolloutStopped(f"{v.name}: {check.found}", fix=check.fix)
                left = wait_left(self.run, v)
                if left.failed:
                    raise RolloutStopped(f"{v.name} stopped but the others still list it as a member",
                                         fix="see the nodes' logs: membership drops a stopped node within seconds")
            return "stopped cleanly, left the membership"
        down = {s for v in b for s in nginx_drain.node_servers(self.run, v)}
        did = nginx_drain.set_down(self.run, down)
        idle = []
        for v in b:
            ok, left, secs = nginx_drain.wait_idle(self.run, v, IDLE_TIMEOUT)
            if not ok:
                raise RolloutStopped(f"{v.name} still has {left} connections from the load balancer after {secs}s",
                                     fix="a request runs longer than the wait; resume when it has finished")
            idle.append(f"{v.name} idle after {secs}s")
        return f"{did}; {', '.join(idle)}"

    def restart(self, i: int, b: list[NodeView], pids_before: dict[str, str]) -> str:
        said = []
        for v in b:
            now = node_pid(self.run, v)
            if now and now != pids_before.get(v.name):
                said.append(f"{v.name} already restarted (pid {now})")  # before a kill: never twice
            elif now and not changed_since_start(self.run, v):
                said.append(f"{v.name} unchanged since its start: not restarted")
            else:
                if now:
                    stop = stop_node(self.run, v)
                    if not stop.ok:
                        raise RolloutStopped(f"{v.name}: {stop.found}", fix=stop.fix)
                    wait_left(self.run, v)
                check = start_node(self.run, v, START_TIMEOUT)
                if not check.ok:
                    raise RolloutStopped(f"{v.name} did not come back: {check.found}", fix=check.fix)
                said.append(f"{v.name} {'restarted' if now else 'started'} (pid {node_pid(self.run, v)})")
            self.journal.write(event="node", batch=i, node=v.name, pid=node_pid(self.run, v))
        return "; ".join(said)

    def members_missing(self, b: list[NodeView]) -> list[str]:
        """Until the timeout: the batch's nodes see every other node, and every
        other node sees them (a node elsewhere that sees too little is not this
        batch's doing). What is still missing at the end."""
        names = {member_id(o): o.name for o in members_of(self.run)}
        mine = {v.name for v in b}
        deadline = time.monotonic() + JOIN_TIMEOUT
        while True:
            seen, missing = views_now(self.run), []
            for v in cluster_nodes(self.run):
                want = expected_members(self.run, v) if v.name in mine else [
                    member_id(x) for x in b if x.name != v.name]
                lost = [names[m] for m in want if m not in seen[v.name]]
                missing += [f"{v.name} does not see {', '.join(lost)}"] if lost else []
            if not missing or time.monotonic() > deadline:
                return missing
            time.sleep(1)

    def wait(self, b: list[NodeView]) -> str:
        missing = self.members_missing(b)
        if missing:
            raise RolloutStopped(f"membership after {JOIN_TIMEOUT:.0f}s: {'; '.join(missing)}",
                                 fix="each node must run in the params' domain and list a live well-known member "
                                     "(05/06); read the nodes' logs")
        art = artifact_for(self.run)
        has_artifact = any(self.run.host(t.host_name).read_file(art.path(t)) for t in deploy_targets(self.run))
        deadline = time.monotonic() + START_TIMEOUT
        for v in b:
            while has_artifact and not art.deployments(L.latest_run(read_log(self.run, v))):
                if time.monotonic() > deadline:
                    raise RolloutStopped(f"{v.name} has not deployed 08's {art.noun} since its start",
                                         fix="see the deployment synchroniser's lines in its log")
                time.sleep(0.5)
            closed = ports_answer(v)
            while closed and time.monotonic() < deadline:
                time.sleep(0.5)
                closed = ports_answer(v)
            if closed:
                raise RolloutStopped(f"{v.name} does not answer on {', '.join(closed)}", fix="read its log")
        deployed = f"; {art.noun} deployed" if has_artifact else ""
        return f"members again (they see every node, every node sees them){deployed}; ports answer"

    def give_back(self, b: list[NodeView]) -> str:
        if lb_kind(self.run) == "elb":
            return "a member again: the ELB routes to it"
        return nginx_drain.set_down(self.run, set())

    def prove(self, b: list[NodeView]) -> str:
        said = []
        art = artifact_for(self.run)
        for v in b:
            if v.node.role == "manager":
                addr, _, https = lb_endpoint(self.run)
                name, deadline = self.run.params.cluster.hostnames.management, time.monotonic() + START_TIMEOUT
                while (status := request(addr, https, name, "/carbon/admin/login.jsp", True)[0]) != 200:
                    if time.monotonic() > deadline:
                        raise RolloutStopped(f"the console by {name} answers {status}, not 200",
                                             fix="see the management vhost's error log on the load balancer")
                    time.sleep(1)
                said.append(f"the console answers by {name}")
            elif not any(self.run.host(t.host_name).read_file(art.path(t)) for t in deploy_targets(self.run)):
                said.append(f"{v.name}: not proven (no 08 test artifact deployed: 08 removes it at its end; "
                            "deploy it again with cluster_traffic.redeploy_for_load before a rollout that "
                            "must prove traffic)")
            else:
                check = wait_takes_traffic(self.run, v, MARKER, START_TIMEOUT).checks[0]
                if not check.ok:
                    raise RolloutStopped(f"{v.name} takes no traffic through the load balancer", fix=check.fix)
                said.append(f"{v.name} served a request {check.found}")
        return "; ".join(said)

    # -- the rollout ----------------------------------------------------
    def begin(self) -> None:
        self.journal.write(event="start", params_file=self.params_file, digest=params_digest(self.params_file),
                           batch_size=self.size, batches=[[v.name for v in b] for b in self.bs],
                           pids={v.name: node_pid(self.run, v) for b in self.bs for v in b})

    def execute(self) -> None:
        """Run (or continue, from the journal) every phase not yet done."""
        st = self.journal.state()
        if not st.step_done(-1, "apply"):
            self._phase(-1, "apply", lambda: self.sections(BEFORE, "", "before"))
        for i, b in enumerate(self.bs):
            st = self.journal.state()
            if st.batch_done(i):
                continue
            self.progress(f"[{i + 1}/{len(self.bs)}] {', '.join(v.name for v in b)}")
            pids = {v.name: st.pids.get(v.name, "") for v in b}
            for step in STEPS:
                if st.step_done(i, step):
                    continue
                fn = {"drain": lambda: self.drain(b), "apply": lambda: self.sections(
                      NODE_SECTIONS, ",".join(v.name for v in b), f"batch{i + 1}"),
                      "restart": lambda: self.restart(i, b, pids), "wait": lambda: self.wait(b),
                      "return": lambda: self.give_back(b), "prove": lambda: self.prove(b)}[step]
                self._phase(i, step, fn, [v.name for v in b])
        if not self.journal.state().step_done(len(self.bs), "apply"):
            self._phase(len(self.bs), "apply", lambda: self.sections(AFTER, "", "after"))
        self.journal.write(event="finished")

    def _phase(self, i: int, step: str, fn: Callable[[], str], nodes: list[str] | None = None) -> None:
        self.journal.write(event="begin", batch=i, step=step, nodes=nodes or [])
        t0 = time.monotonic()
        try:
            said = fn()
        except RunbookError as e:
            self.journal.write(event="stopped", batch=i, step=step, nodes=nodes or [], why=str(e), fix=e.fix)
            raise
        self.journal.write(event="done", batch=i, step=step, nodes=nodes or [], said=said,
                           seconds=round(time.monotonic() - t0, 2),
                           pids={n: node_pid(self.run, self.run.views[n]) for n in nodes or []})
        self.progress(f"    {step:<8} {said} ({time.monotonic() - t0:.1f}s)")


def out_folder(out: str | Path | None) -> Path:
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    return Path(out) if out else ROOT / "runs" / f"{stamp}-rolling"


def run_rolling(params_file: str, size: int = 1, out: str | Path | None = None, apply: bool = False,
                progress: Callable[[str], None] = print) -> int:
    """The plan (apply False), or the rollout. Exit 0 done, 1 stopped."""
    folder = out_folder(out)
    if not apply:
        run = open_run(params_file)
        try:
            progress(plan_text(run, size))
        finally:
            run.close()
        return 0
    folder.mkdir(parents=True, exist_ok=True)
    if Journal(folder).exists():
        raise RunbookError(f"{folder} holds a rollout's journal already",
                           fix=f"continue it with `runbook resume {folder}`, or choose another --out")
    r = Rollout(params_file, folder, size, progress)
    try:
        progress(plan_text(r.run, size))
        r.begin()
        return finish(r)
    finally:
        r.run.close()


def finish(r: Rollout) -> int:
    try:
        r.execute()
    except RunbookError as e:
        r.progress(f"STOPPED: {e}\n  fix: {e.fix}\n  the nodes after this one are untouched; journal: "
                   f"{r.journal.path}")
        write_summary(r)
        return 1
    r.progress(f"ROLLED: {sum(len(b) for b in r.bs)} nodes in {len(r.bs)} batches; journal: {r.journal.path}")
    write_summary(r)
    return 0


def write_summary(r: Rollout) -> None:
    """rolling.json: each batch's steps with their times, for the report and the load's timeline."""
    (r.out / "rolling.json").write_text(json.dumps(r.journal.entries(), indent=1) + "\n")
    from .report import write_report
    write_report(r.out)  # index.html with the timeline (report_rolling.py; again once load.json is saved)
