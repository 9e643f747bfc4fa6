"""The SVN deployment synchronizer's side outside carbon.xml (001, 002).

05 creates the repository on the SVN host; 05 and 06 prove each node host can
read it with the synchronizer's credentials; 06 empties each worker's
repository/deployment/server before its first checkout, as 002 advises, with
a backup. E18: the SVN synchronizer is deprecated, but existing clusters run it.
"""

from __future__ import annotations

import posixpath
import shlex

from ...core.change import Change
from ...core.context import Run
from ...core.errors import CommandError, RunbookError
from ...core.step import Carried, Check, Checks, Operation, Plan
from ...params import NodeView
from ...remote import fanout
from ...remote.host import HOME_COMMAND, Host
from ...run.changelog import record_made
from ...remote.probe import probe, quote
from ..shared.filestep import per_node

DEPLOYMENT = "repository/deployment/server"


def _enabled(run: Run) -> bool:
    return run.params.deployment_sync.kind == "svn"


def _svn_host_selected(run: Run) -> bool:
    ds = run.params.deployment_sync
    return _enabled(run) and bool(ds.host) and ds.host in run.selected_hosts()


# -- the repository ---------------------------------------------------------

def _create_repository(h: Host, path: str, dry_run: bool) -> Change:
    target = f"{h.name}:{path}"
    if h.run("test -f %s/format", path, sudo=True).ok:
        if not h.run("svnlook youngest %s", path, sudo=True).ok:
            raise RunbookError(f"{target} has a format file but svnlook cannot read it", fix="check the "
                               "repository by hand (svnadmin verify) before the synchronizer uses it")
        return Change(target, False, "repository already exists (svnlook answers)")
    if h.run("test -e %s", path, sudo=True).ok and h.run("ls -A %s", path, sudo=True).stdout.strip():
        raise RunbookError(f"{target} exists, is not a repository and is not empty", fix="point "
                           "deployment_sync.repo_path at a new path, or move that folder away")
    parent = posixpath.dirname(path)
    cmds = [] if h.run("test -d %s", parent).ok else [f"sudo mkdir -p {shlex.quote(parent)}"]
    # Owned like its parent: that is the account svnserve runs as on the host.
    cmds += [f"sudo svnadmin create {shlex.quote(path)}",
             f"sudo chown -R --reference={shlex.quote(parent)} {shlex.quote(path)}"]
    if dry_run:
        return Change(target, True, "would create the SVN repository", commands=tuple(cmds))
    for cmd in cmds:
        res = h.run(cmd.removeprefix("sudo "), sudo=True)
        if not res.ok:
            raise CommandError(cmd, res.rc, res.stderr, h.name)
    record_made(h, path, kind="listed", sudo=True)  # rollback lists it, never deletes it (it holds the artifacts)
    return Change(target, True, "created the SVN repository", commands=tuple(cmds))


def plan_repository(run: Run) -> Plan:
    """`svnadmin create` on the SVN host, once (idempotent: an existing repository is left alone)."""
    ds = run.params.deployment_sync
    ops = []
    if _svn_host_selected(run) and ds.repo_path:
        h = run.host(ds.host)
        ops.append(Operation(f"{ds.host}:{ds.repo_path}", lambda dry: _create_repository(h, ds.repo_path, dry), ds.host,
                             path=ds.repo_path))
    return Plan("05 SVN repository for the deployment synchronizer", ops)


def svn_info(run: Run, host: str) -> Check:
    """`svn info` of the synchronizer's URL from HOST with its user and password
    (the password on stdin, never on a command line `ps` can show)."""
    ds = run.params.deployment_sync
    password = run.secret(ds.password.secret) if ds.password else ""
    res = run.host(host).run("svn info --non-interactive --no-auth-cache --username %s --password-from-stdin %s",
                             ds.user or "", ds.url, stdin=(password + "\n").encode())
    root = [ln.split(":", 1)[1].strip() for ln in res.stdout.splitlines() if ln.startswith("Repository Root:")]
    err = (res.stderr.strip().splitlines() or ["no answer"])[-1]
    found = f"Repository Root: {root[0]}" if res.ok and root else f"svn info failed: {err}"
    fix = (f"check that svnserve on {ds.host} serves {ds.repo_path} as {ds.url} and that {ds.user}'s "
           f"password there is the secret {ds.password.secret if ds.password else '(none)'}")
    if res.rc == 127:  # the product's synchronizer embeds its own SVN client; only this check needs one
        found, fix = "no svn client on the host", f"install the subversion package on {host} to run this check"
    return Check(host, f"svn info {ds.url} as {ds.user}", f"Repository Root: {ds.url}", found,
                 found == f"Repository Root: {ds.url}", fix)


def verify_repository(run: Run, roles: tuple[str, ...]) -> Checks:
    """The repository exists on the SVN host and answers, with the synchronizer's
    credentials, on every host of the nodes of ROLES (the manager commits, workers check out)."""
    if not _enabled(run):
        return Checks("SVN deployment synchronizer (not used: deployment_sync.kind is none)", [])
    ds = run.params.deployment_sync
    checks = []
    if _svn_host_selected(run) and not ds.repo_path:
        checks.append(Check(ds.host, "deployment_sync.repo_path", "the repository's path on the SVN host",
                            "(not set)", False, "set deployment_sync.repo_path in the params (e.g. /opt/svn/NAME "
                            "for svn://HOST/NAME when svnserve serves /opt/svn) so that 05 can create it"))
    elif _svn_host_selected(run):
        ok = run.host(ds.host).run("svnlook youngest %s", ds.repo_path, sudo=True).ok
        checks.append(Check(ds.host, f"repository {ds.repo_path}", "a repository (svnlook answers)",
                            "a repository (svnlook answers)" if ok else "not a repository", ok,
                            "create it: run 05_manager with apply=True"))
    hosts = dict.fromkeys(v.host_name for v in run.selected_nodes(roles) if v.node.role in ("manager", "worker"))
    checks += fanout.map_hosts(list(hosts), lambda h: h, lambda h: [svn_info(run, h)])
    return Checks(f"{'05' if 'manager' in roles else '06'} SVN repository", checks)


# -- workers: an empty deployment folder before the first checkout --------------

def deployment_dir(v: NodeView) -> str:
    return posixpath.normpath(v.path(posixpath.join(v.layout.carbon_home, DEPLOYMENT)))


def _workers(run: Run) -> list[NodeView]:
    return run.selected_nodes(("worker",)) if _enabled(run) else []


def _looked(run: Run, v: NodeView) -> Carried[dict]:
    """What the preview of _empty found (one command per host, not four), for its apply."""
    h, d = run.host(v.host_name), deployment_dir(v)
    return Carried(lambda: probe(h, {"dir": quote("test -d %s", d), "svn": quote("test -e %s/.svn", d),
                                     "find": quote("find %s -mindepth 1", d), "home": HOME_COMMAND}))


def _empty(run: Run, v: NodeView, looked: Carried[dict], dry_run: bool) -> Change:
    """002's tip: empty the worker's folder so its first checkout has no conflicts.
    Left alone once it is an SVN working copy (the synchronizer owns it then)."""
    h, d = run.host(v.host_name), deployment_dir(v)
    target = f"{v.host_name}:{d}"
    got = looked.get(dry_run)
    if not got["dir"].ok:
        raise RunbookError(f"{target} is missing", fix=f"check nodes.{v.name}.home in the params")
    if got["svn"].ok:
        return Change(target, False, "already an SVN working copy: left to the deployment synchronizer")
    if not got["find"].ok:
        raise CommandError(got["find"].command, got["find"].rc, got["find"].stdout, h.name)
    entries = sorted(got["find"].stdout.split("\n"))
    entries = [e for e in entries if e]
    if not entries:
        return Change(target, False, "already empty")
    backup = h.archive_path(f"{v.name}-deployment-server", got["home"].stdout if got["home"].ok else None)
    cmds = (f"mkdir -p {shlex.quote(posixpath.dirname(backup))}",
            f"tar -czf {shlex.quote(backup)} -C {shlex.quote(d)} .",
            f"find {shlex.quote(d)} -mindepth 1 -delete")
    listing = "".join(f"-{e}\n" for e in entries)
    diff = f"--- {d}\n+++ {d} (emptied)\n@@ {len(entries)} entries removed @@\n{listing}"
    what = f"{len(entries)} entries (backup first: {backup})"
    if dry_run:
        return Change(target, True, f"would empty: {what}", diff, cmds)
    for cmd in cmds[:2]:
        h.check(cmd)
    listed = h.check("tar -tzf %s", backup).stdout.split()
    if len(listed) < len(entries):  # the archive also lists "./"
        raise RunbookError(f"{target}: the backup {backup} lists {len(listed)} entries for {len(entries)} "
                           "files; nothing was deleted", fix="check free space in the home folder")
    h.check(cmds[2])
    return Change(target, True, f"emptied: {what}", diff, cmds)


def plan_empty_deployment(run: Run) -> Plan:
    """One operation per selected worker (only with the SVN synchronizer)."""
    return Plan("06 empty repository/deployment/server on the workers",
                [Operation(f"{v.host_name}:{deployment_dir(v)}",
                           lambda dry, v=v, looked=_looked(run, v): _empty(run, v, looked, dry), v.host_name,
                           path=deployment_dir(v))
                 for v in _workers(run)])


def verify_empty_deployment(run: Run) -> Checks:
    def one(v: NodeView) -> list[Check]:
        h, d = run.host(v.host_name), deployment_dir(v)
        got = probe(h, {"svn": quote("test -e %s/.svn", d), "count": quote("find %s -mindepth 1 2>/dev/null | wc -l", d)})
        if got["svn"].ok:
            found = "an SVN working copy"
        else:
            res = got["count"]
            n = res.stdout.strip() if res.ok else "?"
            found = "empty" if n == "0" else f"{n} entries"
        return [Check(v.host_name, f"{v.name}: {DEPLOYMENT}", "empty or an SVN working copy", found,
                      found in ("empty", "an SVN working copy"),
                      "re-run the emptying step with apply=True (it backs the folder up first)")]
    checks = per_node(_workers(run), one)
    return Checks("06 worker deployment folders before the first checkout", checks)
