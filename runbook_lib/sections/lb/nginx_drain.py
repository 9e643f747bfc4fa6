"""Taking nodes out of nginx and putting them back, for the rolling apply
(issue 21): the vhosts 01/02 write, with the drained nodes' upstream
servers marked `down` (ngx_http_upstream_module, `server … down`: "marks the
server as permanently unavailable"; kept with ip_hash so the other clients'
hashes do not move).

The files are always rendered from the params (nginx_conf.py), with the
drained set applied: returning every node writes exactly what 01/02 wrote.
Each change is tested (`nginx -t`; on failure the previous files are put
back) and reloaded; the reload counts as done only when the master runs no
worker of the old configuration but those shutting down (the old ones
finish their in-flight requests and exit: nginx's graceful reload). Then
``wait_idle`` waits on the node's own host until no connection from the
load balancer is open to its ports: its in-flight requests are finished.

Why draining matters beyond the requests in flight: nginx holds a server
that refused a connection as failed for fail_timeout (10 s, the default the
runbook keeps, cluster/routing.NGINX_FAIL_TIMEOUT); a drained server gets no
request, so it is never marked failed while it restarts, and the reload that
returns it starts with fresh state."""

from __future__ import annotations

import re
import time

from ...core.context import Run
from ...core.errors import RunbookError
from ...params import NodeView
from .nginx_conf import Vhost, all_vhosts, by_file, file_content
from .nginx_site import RELOAD, TEST, lb_host

NGINX_CONF = "/etc/nginx/nginx.conf"  # its `pid` directive names the master's pid file (Debian: /run/nginx.pid)


def node_servers(run: Run, v: NodeView) -> list[str]:
    """The upstream servers ("address:port") of node V in the vhosts."""
    mine = {f"{v.address}:{port}" for port in v.ports.values()}
    return sorted({s for vh in all_vhosts(run.params) for s in vh.upstream.servers if s in mine})


def render(vh: Vhost | list[Vhost], down: set[str]) -> bytes:
    """The file of VH (or of the vhosts sharing one file) with the servers in DOWN marked `down`."""
    def mark(m: re.Match) -> str:
        return f"{m.group(1)}{m.group(2)} down;" if m.group(2) in down else m.group(0)
    text = file_content(vh if isinstance(vh, list) else [vh]).decode()
    return re.sub(r"^(\s*server\s+)(\S+);", mark, text, flags=re.M).encode()


def drained_now(run: Run) -> set[str]:
    """The servers the vhost files on the load balancer mark `down` now."""
    h, out = lb_host(run), set()
    for path in by_file(all_vhosts(run.params)):
        text = (h.read_file(path, sudo=True) or b"").decode("utf-8", "replace")
        out |= set(re.findall(r"^\s*server\s+(\S+)\s+down;", text, flags=re.M))
    return out


def _workers(run: Run) -> tuple[str, set[str]]:
    """(master pid, pids of its workers not shutting down) on the LB host."""
    res = lb_host(run).run("f=$(sed -n 's/^[[:space:]]*pid[[:space:]]\\+\\([^;]*\\);.*/\\1/p' %s | head -1); "
                           "pid=$(cat \"${f:-/run/nginx.pid}\") && echo $pid && ps --ppid $pid -o pid=,args=",
                           NGINX_CONF, sudo=True)
    lines = (res.stdout or "").splitlines()
    if not res.ok or not lines:
        return "", set()
    return lines[0].strip(), {ln.split()[0] for ln in lines[1:] if "worker process" in ln and "shutting" not in ln}


def set_down(run: Run, down: set[str], timeout: float = 30) -> str:
    """Write the vhosts with DOWN marked, test, reload, and wait until only
    new workers take connections. Returns what it did, in a phrase."""
    h = lb_host(run)
    written: list[tuple[str, bytes | None]] = []
    for path, vhosts in by_file(all_vhosts(run.params)).items():
        before = h.read_file(path, sudo=True)
        want = render(vhosts, down)
        if before != want:
            h.write_file(path, want, sudo=True, backup=False)
            written.append((path, before))
    if not written:
        return "the load balancer already has these servers down: " + (", ".join(sorted(down)) or "none")
    test = h.run(TEST, sudo=True)
    if not test.ok:
        for path, before in written:
            if before is not None:
                h.write_file(path, before, sudo=True, backup=False)
        raise RunbookError(f"{h.name}: `nginx -t` rejected the vhosts with {sorted(down)} down; the previous files "
                           f"were put back and nginx was not reloaded. nginx said:\n{test.stderr.strip()}",
                           fix="run 01_load_balancer and 02_certificates until they pass, then resume")
    master, old = _workers(run)
    h.check(RELOAD, sudo=True)
    deadline = time.monotonic() + timeout
    while master and time.monotonic() < deadline:
        _, now = _workers(run)
        if now and not now & old:
            break
        time.sleep(0.1)
    else:
        time.sleep(1)  # no pid file to watch: nginx_site's settle time
    return f"reloaded with {', '.join(sorted(down)) or 'no server'} down"


def wait_idle(run: Run, v: NodeView, timeout: float = 60) -> tuple[bool, int, float]:
    """Wait until no connection from the load balancer is open to V's ports
    (its in-flight requests are answered). (idle, connections left, seconds)."""
    lb_addr = str(run.params.hosts[run.params.load_balancer.host or ""].address)
    ports = sorted({s.rsplit(":", 1)[1] for s in node_servers(run, v)})
    if not ports:
        return True, 0, 0.0
    sports = " or ".join(f"sport = :{p}" for p in ports)
    h, t0 = run.host(v.host_name), time.monotonic()
    while True:
        res = h.run("ss -Htn state established %s dst %s | wc -l", f"( {sports} )", lb_addr)
        left = int((res.stdout or "0").strip() or 0) if res.ok else 0
        if left == 0 or time.monotonic() - t0 > timeout:
            return left == 0, left, round(time.monotonic() - t0, 2)
        time.sleep(0.2)
