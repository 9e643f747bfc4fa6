"""08 · The test artifact leaves with the test. Once it has proven delivery and
routing, 08 removes it where it deployed it (the manager; 004: every node) and
proves the removal reached every node the same way: each node logs the
undeployment (`ProxyService named '…' has been undeployed`, wso2-synapse
ProxyServiceDeployer; `Undeployed webapp: …`, carbon-deployment
TomcatGenericWebappsDeployer) and no longer holds the file. With the SVN
synchroniser the deletion is made in the repository (`svn delete` of the
artifact's URL, with the synchroniser's user): a file only removed from the
manager's working copy would come back with the manager's own update
(AutoCheckout) before its commit could delete it. Every node's update then
removes it and the node undeploys it: undeploy is the other half of the
synchroniser, and a worker that never logs it names the same cause as a
missed deployment.

Every copy of the artifact that the run put on a node (written on the
manager, or delivered to a worker) is recorded in the run's changes.jsonl,
so `runbook rollback` of a run that stopped before this step removes them too.
Nothing here depends on whether the node is WSO2 or the lab's stand-in."""

from __future__ import annotations

import posixpath
import time

from ...core.context import Run
from ...core.step import Check, Checks
from ...params import NodeView
from ...run.changelog import record_made, record_remote
from ..nodes.svn import DEPLOYMENT
from . import carbonlog as L
from .artifact import Artifact, artifact_for
from .through_lb import not_applicable, serving
from .lifecycle import read_log

__all__ = ["present", "record_copy", "remove_artifact"]


def _nodes(run: Run, targets: list[NodeView]) -> list[NodeView]:
    return list({v.name: v for v in targets + serving(run)}.values())


def present(run: Run, v: NodeView, art: Artifact) -> bool:
    return run.host(v.host_name).run("test -e %s", art.path(v)).ok


def record_copy(run: Run, v: NodeView, art: Artifact, existed: bool, backup: str | None) -> None:
    """Record the artifact on V as this run's (for `runbook rollback`): a webapp's
    folder first when the run made it, so rollback removes the file, then the folder."""
    h = run.host(v.host_name)
    if art.kind == "webapp" and not existed:
        record_made(h, posixpath.dirname(art.path(v)), kind="dir")
    record_remote(h, art.path(v), existed=existed, backup=backup)


def remove_artifact(run: Run, targets: list[NodeView], timeout: float = 90) -> Checks:
    """Remove the artifact from TARGETS (where 08 deployed it) and wait until every
    node has logged its undeployment and no longer holds it."""
    art = artifact_for(run)
    if not_applicable(run):
        return Checks(f"{art.noun}: nothing to remove ({not_applicable(run)})", [])
    nodes = _nodes(run, targets)
    had = {v.name: present(run, v, art) for v in nodes}
    before = {v.name: art.undeployments(L.latest_run(read_log(run, v))) for v in nodes}
    t0 = time.monotonic()
    for v in targets:
        if had[v.name]:
            if run.params.deployment_sync.kind == "svn":
                svn_delete(run, v, art)
            run.host(v.host_name).check("rm -rf %s", art.top(v))
    deadline, done = time.monotonic() + timeout, {}
    while True:
        for v in nodes:
            if v.name in done:
                continue
            logged = not had[v.name] or art.undeployments(L.latest_run(read_log(run, v))) > before[v.name]
            if logged and not present(run, v, art):
                done[v.name] = round(time.monotonic() - t0, 1)
        if len(done) == len(nodes) or time.monotonic() >= deadline:
            break
        time.sleep(1)
    checks = []
    for v in nodes:
        ok = v.name in done
        if ok:
            found = f"undeployed and gone after {done[v.name]}s" if had[v.name] else "not there (nothing to remove)"
        else:
            found = ("still there" if present(run, v, art) else "file gone, no undeployment logged") + \
                f" after {timeout:.0f}s"
        checks.append(Check(v.host_name, f"{v.name}: {art.noun}", "undeployed, file gone", found, ok,
                            "" if ok else undelivered_removal(v, targets, art)))
    return Checks(f"{art.noun} removed from {', '.join(v.name for v in targets)}, the removal delivered to every "
                  "node", checks)


def svn_delete(run: Run, v: NodeView, art: Artifact) -> None:
    """`svn delete` of the artifact in the synchroniser's repository, from V's host with
    the synchroniser's credentials (the password on stdin); the tenant folder -1234 as
    05 configures it (SvnUrlAppendTenantId)."""
    ds = run.params.deployment_sync
    rel = posixpath.relpath(art.top(v), v.path(posixpath.join(v.layout.carbon_home, DEPLOYMENT)))
    url = f"{(ds.url or '').rstrip('/')}/-1234/{rel}"
    password = run.secret(ds.password.secret) if ds.password else ""
    run.host(v.host_name).check(
        "svn delete --non-interactive --no-auth-cache --username %s --password-from-stdin -m %s %s",
        ds.user or "", "08_test_cluster: the test artifact removed", url, stdin=(password + "\n").encode())


def undelivered_removal(v: NodeView, targets: list[NodeView], art: Artifact) -> str:
    if v.name in {t.name for t in targets}:
        return f"{v.name} did not undeploy the file removed from it: see its log (is the node running?)"
    return (f"{v.name} never received the removal: its deployment synchroniser delivers deletions as it delivers "
            f"files (SVN: the manager's commit, then its update); see the synchroniser's lines in {v.name}'s log, "
            f"and remove {art.top(v)} by hand if it must go now")
