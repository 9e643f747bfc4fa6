"""`runbook resume RUN` (issue 21): continue a rolling apply that stopped
(a failed step, or the runner killed at any point) from its journal, never
restarting a node twice, and refusing when the cluster changed underneath:
the params file edited, a node's process not the one the journal last
recorded (restarted or stopped by someone else), or nginx holding a node out
that the journal did not take out."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from ..core.errors import RunbookError
from ..sections.lb import nginx_drain
from .journal import Journal, State
from .rolling import Rollout, finish, node_pid, params_digest
from .rolling_plan import lb_kind


def in_progress(r: Rollout, st: State) -> int:
    """The first batch not done (len(batches) when all are)."""
    return next((i for i in range(len(r.bs)) if not st.batch_done(i)), len(r.bs))


def changes_underneath(r: Rollout, st: State) -> list[str]:
    """What differs between the journal and the cluster now ([] when nothing)."""
    out = []
    if params_digest(r.params_file) != st.start.get("digest"):
        out.append(f"the params file {r.params_file} changed since the rollout began")
    if [[v.name for v in b] for b in r.bs] != st.start.get("batches"):
        out.append("the params give another order of nodes than the journal's")
        return out
    cur = in_progress(r, st)
    moving = {v.name for v in r.bs[cur]} if cur < len(r.bs) and not st.step_done(cur, "restart") else set()
    for b in r.bs:
        for v in b:
            now, was = node_pid(r.run, v), st.pids.get(v.name, "")
            if now != was and v.name not in moving:
                out.append(f"{v.name} runs as pid {now or '(not running)'}, the journal last saw pid "
                           f"{was or '(not running)'}: restarted or stopped outside this rollout")
    if lb_kind(r.run) == "nginx":
        allowed = {s for v in r.bs[cur] for s in nginx_drain.node_servers(r.run, v)} if cur < len(r.bs) else set()
        extra = nginx_drain.drained_now(r.run) - allowed
        if extra:
            out.append(f"nginx has {', '.join(sorted(extra))} down, which this rollout did not take out")
    return out


def resume(run_dir: str | Path, progress: Callable[[str], None] = print) -> int:
    journal = Journal(run_dir)
    st = journal.state()
    if not st.start:
        raise RunbookError(f"{run_dir}: no rolling apply journal ({journal.path.name}) in this run folder",
                           fix="name the folder of a `runbook run PARAMS --apply --rolling`")
    if st.finished:
        progress(f"{run_dir}: the rollout finished already; nothing to resume")
        return 0
    r = Rollout(st.start["params_file"], Path(run_dir), st.start["batch_size"], progress)
    try:
        changed = changes_underneath(r, st)
        if changed:
            raise RunbookError("the cluster changed underneath the interrupted rollout, so it is not resumed:\n  "
                               + "\n  ".join(changed),
                               fix="check the cluster, then start a new rollout: "
                                   "`runbook run PARAMS --apply --rolling`")
        cur = in_progress(r, st)
        where = f"batch {cur + 1} ({', '.join(v.name for v in r.bs[cur])})" if cur < len(r.bs) else "the last sections"
        progress(f"resuming {run_dir} at {where}" + (f", step {st.begun[1]}" if st.begun else "")
                 + (f" (it stopped: {st.stopped})" if st.stopped else ""))
        journal.write(event="resume")
        return finish(r)
    finally:
        r.run.close()
