"""08 test the cluster: what notebooks/08_test_cluster.ipynb calls. Start the
nodes through their own scripts, wait until every node logs every other as
a member, reach the console through the load balancer, deploy a test
artifact on the manager and see every worker deploy it, spread requests
over the workers, stop one and see the cluster route around it, then remove
the artifact. Only what a real node exposes is used (SSH, its scripts, its
log, its ports). Its parts: cluster/.

Each cell runs one step with `do`, which decides whether the step may run
(a plan-only run starts, stops and deploys nothing) and verifies or shows
what the step returns; the steps themselves never show anything."""
from __future__ import annotations

from typing import Callable, Iterator

from ..core.context import Run
from ..core.step import Checks
from .cluster import lifecycle, traffic as tr
from .cluster.traffic import Shown


def do(run: Run, title: str, fn: Callable[[], object], reads_only: bool = False,
       ready: Callable[[], str] | None = None) -> None:
    """Run the step FN under TITLE (READS_ONLY: also in a plan-only run, on running nodes)."""
    lifecycle.do(run, title, fn, reads_only, ready)


def plan(run: Run) -> lifecycle.Table:
    """The start order: each node's host, start command and log file."""
    return lifecycle.plan(run)


def start_cluster(run: Run, timeout: float) -> Checks:
    """The load balancer node (ELB), the manager, then each worker, each up within TIMEOUT s."""
    return lifecycle.start_cluster(run, timeout)


def wait_joined(run: Run, timeout: float, t0: float | None = None) -> Checks:
    """Every node logs every other as a member within TIMEOUT s (T0: the start, time.monotonic())."""
    return lifecycle.wait_joined(run, timeout, t0)


def membership_table(run: Run) -> lifecycle.Table:
    """Who sees whom, as each node's log says."""
    return lifecycle.membership_table(run)


def console_checks(run: Run) -> Checks:
    """The management console by the management host name only, through the load balancer."""
    return tr.console_checks(run)


def deploy_artifact(run: Run, marker: str, timeout: float) -> Checks:
    """The test artifact (logging MARKER) deployed where 08 deploys it and reaching every worker."""
    return tr.deploy_artifact(run, marker, timeout)


def artifact_missing(run: Run, marker: str) -> str:
    """Why the traffic step cannot run yet ("" when it can)."""
    return tr.artifact_missing(run, marker)


def traffic(run: Run, n: int, marker: str) -> Iterator[Shown]:
    """N requests through the load balancer, counted per worker from its own log."""
    return tr.traffic(run, n, marker)


def route_around(run: Run, n: int, marker: str, timeout: float) -> Iterator[Shown]:
    """A worker stopped, the requests routed around it, the worker started again."""
    return tr.route_around(run, n, marker, timeout)


def remove_artifact(run: Run, timeout: float) -> Checks:
    """The test artifact removed and every node proven to have undeployed it."""
    return tr.remove_artifact(run, timeout)


def finish(run: Run, leave_running: bool) -> Checks:
    """Leave the cluster running, or stop every node."""
    return lifecycle.finish(run, leave_running)
