"""The rolling apply's journal (issue 21): one JSON line per event in the run
folder (`journal.jsonl`), flushed and fsynced *before* each node's step runs
and after it is done, so a runner killed at any point leaves a journal that
says which step of which node was under way.

`runbook resume RUN` reads it back (``Journal.state``): the nodes already
done are skipped, the step under way is taken up again, and the facts
recorded (each node's process id, the vhosts' drained servers, the params
file's digest) are compared with the cluster as it is before anything is
touched (rolling.py ``refuse_if_changed``)."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

NAME = "journal.jsonl"
STEPS = ("drain", "apply", "restart", "wait", "return", "prove")


@dataclass
class State:
    """What the journal says: the rollout's start, the steps done per batch,
    the step begun and not finished (if any), each node's last known pid."""

    start: dict = field(default_factory=dict)
    done: dict[int, list[str]] = field(default_factory=dict)  # batch index -> steps done
    begun: tuple[int, str] | None = None  # (batch, step) begun and not done
    pids: dict[str, str] = field(default_factory=dict)
    finished: bool = False
    stopped: str = ""  # why the rollout stopped, when it did

    def batch_done(self, i: int) -> bool:
        return self.done.get(i, [])[-1:] == ["prove"]

    def step_done(self, i: int, step: str) -> bool:
        return step in self.done.get(i, [])


class Journal:
    def __init__(self, run_dir: str | Path) -> None:
        self.path = Path(run_dir) / NAME

    def exists(self) -> bool:
        return self.path.exists()

    def write(self, **entry: object) -> None:
        entry = {"at": datetime.now(timezone.utc).isoformat(timespec="milliseconds"), **entry}
        cut = self.path.exists() and self.path.stat().st_size and not self.path.read_bytes().endswith(b"\n")
        with open(self.path, "a") as f:
            f.write(("\n" if cut else "") + json.dumps(entry) + "\n")  # after a line cut by a kill: a new line
            f.flush()
            os.fsync(f.fileno())

    def entries(self) -> list[dict]:
        if not self.path.exists():
            return []
        out = []
        for line in self.path.read_text().splitlines():
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:  # a line cut by a kill mid-write: that event did not happen
                continue
        return out

    def state(self) -> State:
        st = State()
        for e in self.entries():
            kind = e.get("event")
            if kind == "start":
                st.start, st.pids = e, dict(e.get("pids", {}))
            elif kind == "begin":
                st.begun = (e["batch"], e["step"])
            elif kind == "done":
                st.done.setdefault(e["batch"], []).append(e["step"])
                st.begun = None
                st.pids.update(e.get("pids", {}))
            elif kind == "node":  # a node (re)started within a batch's restart step
                st.pids[e["node"]] = e.get("pid", "")
            elif kind == "resume":
                st.stopped = ""
            elif kind == "stopped":
                st.stopped = e.get("why", "")
            elif kind == "finished":
                st.finished = True
        return st
