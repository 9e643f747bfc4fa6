"""The rolling apply's order and plan (issue 21; rolling.py runs it):
workers in batches, then the manager; members (004) one at a time; and
what each step will do to each batch, shown before anything runs."""

from __future__ import annotations

from ..core.context import Run
from ..core.errors import RunbookError
from ..params import NodeView
from ..sections.cluster.lifecycle import members_of
from .journal import STEPS

BEFORE = ["preflight", "load_balancer", "certificates", "databases"]
NODE_SECTIONS = ["registry_mount", "manager", "workers"]
AFTER = ["broker"]


def batches(run: Run, size: int) -> list[list[NodeView]]:
    """Workers in batches of SIZE, then the manager(s); members one at a time."""
    nodes = members_of(run)
    workers = [v for v in nodes if v.node.role == "worker"]
    if size < 1:
        raise RunbookError(f"--batch {size}: must be 1 or more", fix="use --batch 1 (the default)")
    if len(workers) > 1 and size >= len(workers):
        raise RunbookError(f"--batch {size} would take all {len(workers)} workers out of the load balancer at once",
                           fix=f"use --batch {len(workers) - 1} or less: at least one worker must keep serving")
    out = [workers[i:i + size] for i in range(0, len(workers), size)]
    out += [[v] for v in nodes if v.node.role == "member"]
    return out + [[v] for v in nodes if v.node.role == "manager"]


def lb_kind(run: Run) -> str:
    return run.params.load_balancer.kind


def step_text(run: Run, step: str, b: list[NodeView]) -> str:
    names = ", ".join(v.name for v in b)
    elb = lb_kind(run) == "elb"
    return {
        "drain": (f"stop {names} cleanly through their scripts: they leave the membership and the ELB stops routing to "
                  "them (the ELB has no drain: requests in flight to them may fail, and are counted)") if elb else
                 (f"mark {names}'s upstream servers `down` in nginx, reload, wait until nginx has no connection open "
                  "to them"),
        "apply": f"apply 04, 05, 06 to {names} only",
        "restart": f"{'start' if elb else 'restart'} {names} through their own scripts when a conf file is newer than "
                   "their start",
        "wait": "wait until they see every node and every node sees them, 08's test artifact is deployed on them "
                "again, their ports answer",
        "return": "nothing to do: a member again, the ELB routes to it" if elb else
                  f"remove `down` from {names}'s upstream servers, reload",
        "prove": "a request through the load balancer reaches " + ", ".join(
            f"{v.name}" + (" (the console by the management name)" if v.node.role == "manager" else "") for v in b),
    }[step]


def plan_text(run: Run, size: int) -> str:
    bs = batches(run, size)
    lines = [f"rolling apply plan for {run.params.name} ({lb_kind(run)}; batch {size}):",
             f"  before: sections {', '.join(BEFORE)} (as a plain apply)"]
    for i, b in enumerate(bs, 1):
        lines.append(f"  {i}. {', '.join(f'{v.name} ({v.node.role}, {v.host_name})' for v in b)}")
        lines += [f"       {s:<8} {step_text(run, s, b)}" for s in STEPS]
    lines.append(f"  after: sections {', '.join(AFTER)}; then run 08_test_cluster for the full cluster test")
    lines.append("  stops at the first node that does not come back; `runbook resume RUN` continues from the journal")
    return "\n".join(lines)
