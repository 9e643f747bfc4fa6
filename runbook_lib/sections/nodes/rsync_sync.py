"""06 · rsync deployment synchronisation (`deployment_sync.kind: rsync`), as WSO2's
Carbon 4.4 clustering guide describes it (the SVN synchroniser is deprecated, ERRATA
E18): the source node (the manager; in 004, the member the params name) pushes its
`repository/deployment/server/` to every other node over SSH, with `rsync --delete`,
on a schedule, with a key of its own and a workers list. Deletions travel too.

On the source node's host, in the product owner's home, `rsync-for-carbon-depsync/`:
the script (a lock against overlapping runs, one rsync per line of the list, a log),
`workers-list.txt` (`user@address:<deployment folder>/`), the key pair (made there by
ssh-keygen, the private key never leaves the host) and `known_hosts` with the other
hosts' keys as the runbook itself knows them (the guide turns host-key checking off;
here it stays strict). Each other host's product owner gets the public key in
`~/.ssh/authorized_keys`, limited to the source's address (`from=`).

The schedule: the guide's crontab line (`*/N * * * * <script>`), installed with
`crontab` where the host has it. A host without cron (the lab's hosts: no cron
daemon, no crontab command) gets the same line run by a loop the runbook starts
detached (`schedule.sh`, its pid in `schedule.pid`; it does not survive a reboot,
which a real host's cron does): the check says which of the two runs it. `runbook
rollback` of the run that started the schedule stops it (the loop by the pid recorded,
only while that pid is still the loop; the crontab line) and removes what it wrote."""

from __future__ import annotations

import posixpath
import shlex
from pathlib import Path

from ...core.change import Change
from ...core.context import Run
from ...core.errors import RunbookError
from ...core.step import Check, Checks, Operation, Plan
from ...operations.files import ensure_content
from ...params import NodeView
from ...remote.host import HOME_COMMAND
from ...run.changelog import record_made, record_remote
from .svn import deployment_dir

DIR = "rsync-for-carbon-depsync"
SCRIPT = f"{DIR}.sh"

SCRIPT_TEXT = """#!/bin/sh
# WSO2 Cluster Runbook: rsync deployment synchronisation (WSO2 Carbon 4.4 clustering guide).
# Pushes {src} to every line of workers-list.txt; run by cron (or schedule.sh) every {interval} min.
cd "$(dirname "$0")" || exit 1
# one run at a time: a lock folder, removed on exit
mkdir lock 2>/dev/null || {{ echo "$(date -u +%FT%TZ) locked: a run is still going" >> rsync.log; exit 1; }}
trap 'rmdir lock' EXIT
while read -r target; do
  [ -n "$target" ] || continue
  echo "$(date -u +%FT%TZ) syncing $target" >> rsync.log
  rsync --delete -a -e "ssh -i $PWD/id_ed25519 -o UserKnownHostsFile=$PWD/known_hosts -o StrictHostKeyChecking=yes \\
-o BatchMode=yes" {src} "$target" >> rsync.log 2>&1 || echo "$(date -u +%FT%TZ) FAILED $target" >> rsync.log
done < workers-list.txt
"""

LOOP_TEXT = """#!/bin/sh
# WSO2 Cluster Runbook: this host has no cron; this loop runs the crontab line's command
# every {interval} min instead (started detached by 06; it does not survive a reboot).
cd "$(dirname "$0")" || exit 1
echo $$ > schedule.pid
while :; do sh ./{script}; sleep {seconds}; done
"""


def enabled(run: Run) -> bool:
    return run.params.deployment_sync.kind == "rsync"


def source(run: Run) -> NodeView:
    return run.views[run.params.deployment_sync.source or ""]


def targets(run: Run) -> list[NodeView]:
    """Every other node of the cluster (workers, members; never the ELB or brokers)."""
    src = source(run)
    return [v for v in run.views.values() if v.node.role in ("manager", "worker", "member") and v.name != src.name]


def _home(run: Run, v: NodeView) -> str:
    return run.host(v.host_name).check(HOME_COMMAND).stdout


def cron_line(run: Run, folder: str) -> str:
    n = run.params.deployment_sync.interval_min
    return f"{'*' if n == 1 else f'*/{n}'} * * * * {folder}/{SCRIPT}"


def _known_hosts(run: Run) -> bytes:
    """The other hosts' keys, from the runbook's own known_hosts (strict, as the runbook's own SSH)."""
    wanted = {str(v.address) for v in targets(run)} | {v.host_name for v in targets(run)}
    path = Path(run.params.ssh.known_hosts)
    lines = [ln for ln in path.read_text().splitlines() if ln and not ln.startswith("#")
             and set(ln.split()[0].split(",")) & wanted] if path.exists() else []
    return ("\n".join(sorted(set(lines))) + "\n").encode() if lines else b""


def _key(run: Run, folder: str, dry: bool) -> Change:
    v = source(run)
    h, key = run.host(v.host_name), f"{folder}/id_ed25519"
    target = f"{v.host_name}:{key}"
    if h.run("test -f %s -a -f %s.pub", key, key).ok:
        return Change(target, False, "the synchronisation's own key pair is there", host=v.host_name, path=key)
    cmd = f"mkdir -p {folder} && ssh-keygen -q -t ed25519 -N '' -C wso2-rsync-depsync -f {key}"
    if dry:
        return Change(target, True, "would make the synchronisation's own key pair (ed25519)", commands=(cmd,),
                      host=v.host_name, path=key)
    if not h.run("test -d %s", folder).ok:
        record_made(h, folder, kind="dir")
    h.check("mkdir -p %s && chmod 700 %s && ssh-keygen -q -t ed25519 -N '' -C wso2-rsync-depsync -f %s",
            folder, folder, key)
    for path in (key, key + ".pub"):
        record_remote(h, path, existed=False, backup=None)
    return Change(target, True, "made the synchronisation's own key pair (ed25519)", commands=(cmd,),
                  host=v.host_name, path=key)


def _contents(run: Run, folder: str) -> dict[str, tuple[bytes, int | None, str]]:
    """The files of the synchronisation on the source host: name -> (content, mode, what)."""
    v, ds = source(run), run.params.deployment_sync
    src = deployment_dir(v) + "/"
    workers = "".join(f"{run.params.hosts[t.host_name].ssh_user}@{t.address}:{deployment_dir(t)}/\n"
                      for t in targets(run)).encode()
    script = SCRIPT_TEXT.format(src=shlex.quote(src), interval=ds.interval_min).encode()
    loop = LOOP_TEXT.format(interval=ds.interval_min, script=SCRIPT, seconds=60 * ds.interval_min).encode()
    return {"workers-list.txt": (workers, None, "the workers list"),
            "known_hosts": (_known_hosts(run), None, "the other hosts' keys"),
            SCRIPT: (script, 0o755, "the synchronisation script"),
            "schedule.sh": (loop, 0o755, "the schedule for a host without cron")}


def _file(run: Run, folder: str, name: str, dry: bool) -> Change:
    h = run.host(source(run).host_name)
    content, mode, what = _contents(run, folder)[name]
    if name == "known_hosts" and not content:
        raise RunbookError(f"{run.params.ssh.known_hosts} has no key of {', '.join(t.host_name for t in targets(run))}",
                           fix="run 00_preflight first: the runbook checks every host's key there")
    if not dry:
        h.check("mkdir -p %s && chmod 700 %s", folder, folder)
    return ensure_content(h, f"{folder}/{name}", content, mode=mode, dry_run=dry, what=what)


def _authorize(run: Run, t: NodeView, folder: str, dry: bool) -> Change:
    """The source's public key in T's product owner's authorized_keys, from the source's address only."""
    src = source(run)
    pub = run.host(src.host_name).run("cat %s/id_ed25519.pub", folder).stdout.strip()
    h = run.host(t.host_name)
    path = _home(run, t) + "/.ssh/authorized_keys"
    if not pub and not dry:
        raise RunbookError(f"{src.host_name}: {folder}/id_ed25519.pub is missing", fix="re-run this step: the key "
                           "pair is made first, on the source host")
    if not pub:  # a plan before the key exists: show what will be added
        return Change(f"{t.host_name}:{path}", True, f"would add the synchronisation key of {src.name}, "
                      f"from=\"{src.address}\"", host=t.host_name, path=path)
    line = f'from="{src.address}",no-agent-forwarding,no-port-forwarding,no-pty,no-X11-forwarding {pub}'
    before = h.read_file(path) or b""
    if line.encode() in before.splitlines():
        return Change(f"{t.host_name}:{path}", False, "the synchronisation key is authorised", host=t.host_name,
                      path=path)
    if not dry:
        h.check("mkdir -p %s && chmod 700 %s", posixpath.dirname(path), posixpath.dirname(path))
    after = before + (b"" if not before or before.endswith(b"\n") else b"\n") + line.encode() + b"\n"
    return ensure_content(h, path, after, mode=0o600, dry_run=dry, what=f"authorized_keys (+ {src.name}'s key)")


def _schedule(run: Run, folder: str, dry: bool) -> Change:
    v = source(run)
    h, line = run.host(v.host_name), cron_line(run, folder)
    target = f"{v.host_name}:schedule"
    if h.run("command -v crontab").ok:
        current = h.run("crontab -l 2>/dev/null").stdout
        if line in current.splitlines():
            return Change(target, False, f"crontab has `{line}`", host=v.host_name)
        cmd = f"(crontab -l 2>/dev/null; echo {shlex.quote(line)}) | crontab -"
        if not dry:
            _record_outputs(h, folder, ("rsync.log",))
            h.check(cmd)
            record_made(h, "crontab", kind="cron", detail=line)
        return Change(target, True, f"{'would add' if dry else 'added'} `{line}` to the crontab", commands=(cmd,),
                      host=v.host_name)
    if _loop_alive(run, folder):
        return Change(target, False, "no cron on this host: the schedule loop runs", host=v.host_name)
    cmd = f"setsid nohup sh {folder}/schedule.sh >/dev/null 2>&1 &"
    if not dry:
        _record_outputs(h, folder, ("rsync.log", "schedule.pid"))
        # setsid: the loop leads a process group of its own, so rollback ends it with its sleep and rsync
        pid = h.check("setsid nohup sh %s/schedule.sh >/dev/null 2>&1 </dev/null & echo $!", folder).stdout.strip()
        record_made(h, f"process {pid}", kind="loop", detail=f"{folder}/schedule.sh")
    return Change(target, True, f"{'would start' if dry else 'started'} the schedule loop (no cron on this host): "
                  f"the command of `{line}`", commands=(cmd,), host=v.host_name)


def _record_outputs(h, folder: str, names: tuple[str, ...]) -> None:
    """The files the schedule writes itself, recorded (before it starts) when not there yet: rollback removes them."""
    for name in names:
        if not h.run("test -e %s/%s", folder, name).ok:
            record_made(h, f"{folder}/{name}", kind="output")


def _loop_alive(run: Run, folder: str) -> bool:
    h = run.host(source(run).host_name)
    return h.run("kill -0 \"$(cat %s/schedule.pid 2>/dev/null)\" 2>/dev/null", folder).ok


def plan_rsync(run: Run) -> Plan:
    """The key, the files, each target's authorized_keys, the schedule (only with kind: rsync)."""
    if not enabled(run):
        return Plan("06 rsync deployment synchronisation (not used)", [])
    v = source(run)
    folder = _home(run, v) + "/" + DIR
    ops = [Operation(f"{v.host_name}:{folder}/id_ed25519", lambda dry: _key(run, folder, dry), v.host_name,
                     path=f"{folder}/id_ed25519"),
           *[Operation(f"{v.host_name}:{folder}/{name}", lambda dry, name=name: _file(run, folder, name, dry),
                       v.host_name, path=f"{folder}/{name}") for name in ("workers-list.txt", "known_hosts", SCRIPT,
                                                                         "schedule.sh")]]
    # Grouped with the source host's operations (run in order after the key is made), though each writes
    # on its target's host.
    ops += [Operation(f"{t.host_name}: authorized_keys", lambda dry, t=t: _authorize(run, t, folder, dry),
                      v.host_name, on=t.host_name) for t in targets(run)]
    ops.append(Operation(f"{v.host_name}: schedule", lambda dry: _schedule(run, folder, dry), v.host_name))
    return Plan(f"06 rsync deployment synchronisation from {v.name}", ops)


def verify_rsync(run: Run) -> Checks:
    """The source host reaches each target with its own key and strict host keys, and the schedule runs."""
    if not enabled(run):
        return Checks("06 rsync deployment synchronisation (not used: deployment_sync.kind is "
                      f"{run.params.deployment_sync.kind})", [])
    v = source(run)
    h, folder = run.host(v.host_name), _home(run, v) + "/" + DIR
    checks = []
    for t in targets(run):
        user = run.params.hosts[t.host_name].ssh_user
        res = h.run("ssh -i %s/id_ed25519 -o UserKnownHostsFile=%s/known_hosts -o StrictHostKeyChecking=yes "
                    "-o BatchMode=yes %s@%s test -d %s", folder, folder, user, str(t.address), deployment_dir(t))
        found = "logged in, folder there" if res.ok else (res.stderr.strip().splitlines() or ["failed"])[-1]
        checks.append(Check(v.host_name, f"{v.name} -> {t.name}: ssh with the sync key", "logged in, folder there",
                            found, res.ok, "re-run this step with apply=True (key, known_hosts, authorized_keys)"))
    cron = h.run("crontab -l 2>/dev/null").stdout if h.run("command -v crontab").ok else None
    line = cron_line(run, folder)
    if cron is not None:
        ok, found = line in cron.splitlines(), "in the crontab" if line in cron.splitlines() else "not in the crontab"
    else:
        ok = _loop_alive(run, folder)
        found = "no cron: the schedule loop runs" if ok else "no cron, and the schedule loop is not running"
    checks.append(Check(v.host_name, f"schedule `{line}`", "runs every "
                        f"{run.params.deployment_sync.interval_min} min", found, ok,
                        "re-run this step with apply=True"))
    return Checks(f"06 rsync deployment synchronisation from {v.name}", checks)
