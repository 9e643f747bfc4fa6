"""Section 01, the load balancer: nginx (documents 002 and 004) or the WSO2
ELB (documents 000 and 001), whichever the params name.

nginx: this section writes the HTTP vhost (80 -> the workers); the two HTTPS
vhosts (443 -> the workers with affinity, the management name -> the manager)
are written by 02_certificates right after it has made their certificates,
because nginx refuses a vhost whose certificate file does not exist (the
documents write the vhosts first and make the certificates afterwards, so
their reload fails on a fresh host). Every write is followed by `nginx -t`;
a failed test puts the previous files back before anything is reloaded.

ELB: see lb/elb.py (files only: the ELB cannot run in the lab).
"""

from __future__ import annotations

import http.client
import secrets
import shlex
import ssl

from ...core.context import Run
from ...core.step import Check, Checks, Plan
from . import elb
from .nginx_conf import (MARKER, Vhost, all_vhosts, by_file, config_files, file_content, http_vhost, tls_vhosts,
                             upstream_servers)
from .nginx_site import TEST, Site, lb_host

TIMEOUT = 5.0


def _nginx_selected(run: Run) -> bool:
    lb = run.params.load_balancer
    return lb.kind == "nginx" and lb.host in run.selected_hosts()


def plan_load_balancer(run: Run) -> Plan:
    """nginx: the HTTP vhost, tested and reloaded. ELB: loadbalancer.conf,
    axis2.xml and /etc/hosts of each ELB node. None: nothing to do."""
    kind = run.params.load_balancer.kind
    if kind == "elb":
        return elb.plan_elb(run)
    if kind == "nginx":
        ops = Site(run, [http_vhost(run.params)]).operations() if _nginx_selected(run) else []
        return Plan("01 nginx: HTTP vhost", ops)
    return Plan("01 load balancer: none in these params", [])


# -- verification -----------------------------------------------------------

def lb_address(run: Run) -> str:
    return str(run.params.hosts[run.params.load_balancer.host or ""].address)


class _SNIConnection(http.client.HTTPSConnection):
    """HTTPS to an address, with SNI and name checks for another name (the vhost's)."""

    def __init__(self, address: str, port: int, sni: str, **kw) -> None:  # noqa: ANN003
        super().__init__(address, port, **kw)
        self.sni = sni

    def connect(self) -> None:
        http.client.HTTPConnection.connect(self)
        self.sock = self._context.wrap_socket(self.sock, server_hostname=self.sni)  # type: ignore[attr-defined]


def ask(run: Run, v: Vhost, cadata: str | None = None, path: str = "/") -> tuple[int, dict[str, str], bytes]:
    """GET PATH from V's name through the load balancer, from this machine
    (the way a client comes in): (status, headers, body). TLS is verified
    against the PEM certificates CADATA when given."""
    addr = lb_address(run)
    if v.tls:
        ctx = ssl.create_default_context(cadata=cadata) if cadata else ssl._create_unverified_context()
        conn: http.client.HTTPConnection = _SNIConnection(addr, v.port, v.server_name, timeout=TIMEOUT, context=ctx)
    else:
        conn = http.client.HTTPConnection(addr, v.port, timeout=TIMEOUT)
    try:
        conn.request("GET", path, headers={"Host": v.server_name if v.port in (80, 443) else
                                           f"{v.server_name}:{v.port}"})
        resp = conn.getresponse()
        return resp.status, {k.lower(): val for k, val in resp.getheaders()}, resp.read()
    finally:
        conn.close()


def answer_check(run: Run, v: Vhost, cadata: str | None = None) -> Check:
    """nginx answers for V's name through V itself (its marker header); a 502
    is nginx routing with no backend up, which is reported, not failed."""
    what = f"{'HTTPS' if v.tls else 'HTTP'} {v.server_name}:{v.port} answered by its vhost"
    try:
        status, headers, _ = ask(run, v, cadata)
    except (OSError, http.client.HTTPException, ssl.SSLError) as e:
        return Check(run.params.load_balancer.host or "", what, f"{MARKER}: {v.server_name}",
                     f"no answer: {type(e).__name__}", False,
                     "check that nginx runs on the LB host and the port is open, then re-run 01 with apply=True")
    marker = headers.get(MARKER.lower())
    note = {502: "expected while no node is up: no backend answered", 504: "backend timed out"}.get(
        status, "backend answered")
    found = f"{status} from vhost {marker} ({note})" if marker else f"{status} without {MARKER} (another server block)"
    return Check(run.params.load_balancer.host or "", what, f"{MARKER}: {v.server_name}", found,
                 marker == v.server_name,
                 f"nginx has not loaded {v.path}: re-run this notebook with apply=True (it tests and reloads)")


def config_checks(run: Run, vhosts: list[Vhost]) -> list[Check]:
    """The files as rendered from the params, and what `nginx -T` (the parsed
    configuration) says their upstreams are."""
    h = lb_host(run)
    test = h.run(TEST, sudo=True)
    out = [Check(h.name, "nginx -t", "syntax ok", "syntax ok" if test.ok else
                 (test.stderr.strip().splitlines() or ["failed"])[-1][:80], test.ok,
                 "fix the file nginx names, or re-run with apply=True to rewrite the runbook's vhosts")]
    files = config_files(h.run("nginx -T", sudo=True).stdout) if test.ok else {}
    for v in vhosts:
        data = h.read_file(v.path, sudo=True)
        state = "as rendered" if data == file_content(by_file(all_vhosts(run.params))[v.path]) else "(missing)" if data is None else "differs"
        out.append(Check(h.name, f"{v.path.rsplit('/', 1)[-1]} content", "as rendered from the params", state,
                         state == "as rendered", "re-run the notebook with apply=True to rewrite it"))
        servers = upstream_servers(files.get(v.path, ""), v.upstream.name)
        out.append(Check(h.name, f"upstream {v.upstream.name} (nginx -T)", " ".join(v.upstream.servers),
                         "(not loaded by nginx -T)" if servers is None else " ".join(servers),
                         servers == list(v.upstream.servers), "re-run the notebook with apply=True"))
    return out


def log_checks(run: Run, vhosts: list[Vhost]) -> list[Check]:
    """The log files 002/004 give a vhost: both exist on the LB host (nginx opens
    them when it loads the vhost) and a request sent through the vhost now, with
    a path of its own, is a line of its access log. The request does not verify
    TLS: the certificate is 02's handshake check, this one is about the logs."""
    out = []
    h = lb_host(run)
    for v in (v for v in vhosts if v.logs):
        error_log, access_log = v.logs  # type: ignore[misc]
        path = f"/runbook-log-check-{secrets.token_hex(6)}"
        try:
            ask(run, v, None, path)
        except (OSError, http.client.HTTPException, ssl.SSLError):
            pass  # not answering is answer_check's to report; the log line is then missing too
        res = h.run("test -f %s && echo error-log; grep -c -F %s %s", error_log, path, access_log, sudo=True)
        lines = res.stdout.split()
        found = ("error log present" if "error-log" in lines else "no error log") + \
            f", request logged {lines[-1] if lines and lines[-1].isdigit() else 0}x"
        out.append(Check(h.name, f"{v.server_name}: logs {error_log}, {access_log}",
                         "error log present, request logged 1x", found, found == "error log present, request logged 1x",
                         f"nginx has not loaded {v.path} with its log lines: re-run with apply=True (it tests and reloads)"))
    return out


def verify_load_balancer(run: Run) -> Checks:
    """nginx: config and the HTTP vhost answering; ELB: its files."""
    kind = run.params.load_balancer.kind
    if kind == "elb":
        return elb.verify_elb(run)
    if kind != "nginx" or not _nginx_selected(run):
        return Checks("01 load balancer: nothing to verify here", [])
    v = http_vhost(run.params)
    return Checks("01 nginx HTTP vhost", config_checks(run, [v]) + [answer_check(run, v)] + log_checks(run, [v]))


class Backends(Checks):
    """A table shown for information: rows say up/down, the run record counts
    it as information (never as failed checks), and it never raises."""

    information = True

    def headline(self) -> str:
        down = len(self.failed)
        return f"{self.title}: {len(self.checks) - down} up, {down} down"

    def text(self) -> str:
        return "\n".join(ln.replace("FAIL  ", "down  ", 1) if ln.startswith("FAIL  ") else
                         ln.replace("ok    ", "up    ", 1) if ln.startswith("ok    ") else ln
                         for ln in super().text().splitlines())

    def require(self) -> "Backends":
        return self


def backend_reachability(run: Run, keys: tuple[str, ...] = ("http",)) -> Backends:
    """Information, not a gate: whether each upstream server of the vhosts
    KEYS ('http', 'https', 'mgt') accepts TCP connections from the LB host.
    Fails until the WSO2 servers are started (not in this runbook's lab)."""
    title = "backends behind nginx (information: down until the WSO2 servers are started)"
    if not _nginx_selected(run):
        return Backends(title, [])
    h = lb_host(run)
    seen = {(v.key, server): v.upstream.name for v in all_vhosts(run.params) if v.key in keys
            for server in v.upstream.servers}  # each (vhost, server) once, in the vhosts' order
    rows = [(name, server) for (_, server), name in seen.items()]
    servers = list(dict.fromkeys(server for _, server in rows))
    # one command for every backend, probed at once (each within 3 s): "ADDR:PORT ok" per open port
    probes = " ".join(f"(timeout 3 bash -c {shlex.quote(f'</dev/tcp/{a}/{p}')} 2>/dev/null && echo {a}:{p} ok) &"
                      for a, p in (x.rsplit(":", 1) for x in servers))
    res = h.run(f"{probes} wait") if servers else None
    open_ = {line.split()[0] for line in res.stdout.splitlines() if line.endswith(" ok")} if res else set()
    checks = [Check(h.name, f"{name} -> {server}", "accepts connections",
                    "accepts connections" if server in open_ else "nothing listening", server in open_,
                    f"start the WSO2 node listening on {server} (see 05/06)") for name, server in rows]
    return Backends(title, checks)


__all__ = ["plan_load_balancer", "verify_load_balancer", "backend_reachability", "answer_check", "config_checks",
           "log_checks",
           "tls_vhosts", "ask", "lb_address"]
