"""08 and 07's evidence, written for the run report (core/evidence.py):
the log lines behind each verdict, quoted from the node that logged them,
and the membership matrix, request spreads and coordinator as data.

Each function is called once where 08 or 07 reaches its verdict, with what
that step has already read; nothing here decides a verdict."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from ...core import evidence
from . import carbonlog as L

if TYPE_CHECKING:
    from ...core.context import Run
    from ...params import NodeView

# Hazelcast's own member lines (joined, the local member) and Tribes'/the ELB's
JOINED = re.compile(r"Member joined \[|New member .* joined cluster|joined application cluster|Local member: \[")
LEFT = re.compile(r"Member left \[|Member .* left cluster|left application cluster")


def _log(v: "NodeView") -> str:
    return v.path(v.spec.log_file)


def started(run: "Run", views: list["NodeView"], read_log) -> None:  # noqa: ANN001 - cluster_check.read_log
    """Each node's own `WSO2 Carbon started in` line of its latest run."""
    lines = []
    for v in views:
        seg = L.latest_run(read_log(run, v))
        lines += evidence.quotes(seg, L.STARTED, v.name, v.host_name, _log(v), last=1)
    evidence.write("started", quotes=lines)


def membership(run: "Run", rows: list[list[str]], views: list["NodeView"], read_log) -> None:  # noqa: ANN001
    """The matrix as 08 shows it, and per node its last member lines (who it logged joining)."""
    quoted = []
    for v in views:
        quoted += evidence.quotes(L.latest_run(read_log(run, v)), JOINED, v.name, v.host_name, _log(v))
    evidence.write("membership", title="membership as every node logs it", rows=rows, quotes=quoted)


def left(run: "Run", gone: "NodeView", member: str, others: list["NodeView"], read_log) -> None:  # noqa: ANN001
    """The others' own lines saying GONE (its member address MEMBER) left."""
    quoted = []
    for v in others:
        seg = L.latest_run(read_log(run, v))
        quoted += [q for q in evidence.quotes(seg, LEFT, v.name, v.host_name, _log(v), last=20)
                   if member.split(":")[0] in q["line"]][-1:]
    evidence.write("left", node=gone.name, member=member, quotes=quoted)


def spread(title: str, counts: dict[str, int], codes: list[int]) -> None:
    evidence.write("spread", title=title, counts=counts,
                   answers={str(c): codes.count(c) for c in sorted(set(codes))})


def coordinator(views: list["NodeView"], logs: dict[str, str], by_log: list[str], in_store: list[str],
                needles: tuple[str, ...], joined: dict[str, str]) -> None:
    """07: who is coordinator by each broker's log and by the MB store's row, with each broker's last
    election line (NEEDLES) and its line saying the cluster took it in (JOINED: node -> that line's text)."""
    quoted, taken_in = [], []
    for v in views:
        log = logs.get(v.name, "")
        lines = [ln for ln in log.splitlines() if any(n in ln for n in needles)]
        quoted += [evidence.quote(ln, v.name, v.host_name, _log(v)) for ln in lines[-1:]]
        taken_in += evidence.quotes(log, joined.get(v.name, "\0"), v.name, v.host_name, _log(v), last=1)
    evidence.write("coordinator", by_log=by_log, in_store=in_store, quotes=quoted, joined=taken_in)
