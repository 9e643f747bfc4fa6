"""Issue 18 gaps, on labs built from the documents' own examples:

- E16: 01 sets the ELB's PassThrough socket timeout (milliseconds) in
  passthru-http.properties on the ELB host (001's example), and only that line;
- 004's nginx vhosts carry the WebSocket upgrade headers and the log lines
  002/004 name, `nginx -t` accepts them, and a WebSocket upgrade request sent
  through nginx reaches the backend with its Upgrade/Connection headers."""

from __future__ import annotations

import http.client
import os

import pytest

from runbook_lib.configedit import read_properties
from runbook_lib.core.context import open_run
from runbook_lib.lab import control as labmod
from runbook_lib.run.runner import run_sections
from runbook_lib.sections.tls import certs as certificates
from runbook_lib.sections.lb import balancer as load_balancer
from runbook_lib.sections.lb import nginx_conf

from .conftest import ROOT
from .ownlab import fresh_lab

pytestmark = pytest.mark.lab
quiet = {"log": lambda *_: None}
SKEL_PASSTHRU = ROOT / "runbook_lib/lab/skeletons/elb-2.0.5/repository/conf/passthru-http.properties"


def test_e16_elb_socket_timeout_on_the_001fresh_lab(tmp_path):
    path, p = fresh_lab("as-elb-001.yaml")
    try:
        plan = run_sections(path, apply=False, only=["01_load_balancer"], out_dir=tmp_path / "0",
                            progress=lambda *_: None)
        assert plan.exit_code == 2, plan.text()  # drift before the first apply: the timeout among it
        first = run_sections(path, apply=True, only=["01_load_balancer"], out_dir=tmp_path / "1",
                             progress=lambda *_: None)
        assert first.ok, first.text()
        run = open_run(path)
        try:
            v = next(v for v in run.views.values() if v.node.role == "elb")
            h = run.host(v.host_name)
            data = h.read_file(v.file("passthru"))
            assert read_properties(data)["http.socket.timeout"] == "60000"
            shipped = SKEL_PASSTHRU.read_bytes()  # what the lab installed (the skeleton)
            changed = [(a, b) for a, b in zip(shipped.splitlines(), data.splitlines()) if a != b]
            assert changed == [(b"http.socket.timeout=6000", b"http.socket.timeout=60000")]
            assert len(shipped.splitlines()) == len(data.splitlines())
            # a hand edit back to 001's "60 seconds" is drift that 01 names and puts right
            assert h.run("sed -i 's/^http.socket.timeout=.*/http.socket.timeout=6000/' %s", v.file("passthru")).ok
        finally:
            run.close()
        check = run_sections(path, apply=False, only=["01_load_balancer"], out_dir=tmp_path / "2",
                             progress=lambda *_: None)
        assert check.exit_code == 2 and "http.socket.timeout" in check.text(), check.text()
        again = run_sections(path, apply=True, only=["01_load_balancer"], out_dir=tmp_path / "3",
                             progress=lambda *_: None)
        assert again.ok and sum(s.changed for s in again.sections) == 1, again.text()
    finally:
        labmod.down(p, **quiet)


WS_ECHO = r'''
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_GET(self):
        body = ("%s|%s|%s" % (self.request_version, self.headers.get("Upgrade"),
                              self.headers.get("Connection"))).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
http.server.ThreadingHTTPServer((sys.argv[1], int(sys.argv[2])), H).serve_forever()
'''


def test_004_nginx_websocket_headers_and_logs_on_itsfresh_lab(tmp_path):
    """004's vhosts as the document writes them: nginx -t passes (01/02 verify),
    the management vhost's ui-error.log/ui-access.log are nginx's (02 verifies a
    request logged), and a WebSocket handshake sent through the HTTP vhost
    reaches a backend (a throwaway echo server standing in for the node's
    pass-through port) over HTTP/1.1 with `Upgrade: websocket` and
    `Connection: upgrade`. Without 004's lines nginx would send HTTP/1.0 and
    drop both hop-by-hop headers."""

    path, p = fresh_lab("ei-integrator-004.yaml")
    try:
        res = run_sections(path, apply=True, only=["01_load_balancer", "02_certificates"], out_dir=tmp_path / "1",
                           progress=lambda *_: None)
        assert res.ok, res.text()
        run = open_run(path)
        started = []
        try:
            lb = run.host(p.load_balancer.host)
            mgt = nginx_conf.mgt_vhost(p)
            assert mgt.logs == ("/var/log/nginx/ui-error.log", "/var/log/nginx/ui-access.log")
            tls = certificates.verify_tls(run)
            logs = [ch for ch in tls.checks if "ui-access.log" in ch.what]
            assert len(logs) == 1 and logs[0].ok, tls.text()
            assert int(lb.check("grep -c -F /runbook-log-check- %s", mgt.logs[1], sudo=True).stdout) >= 1
            assert not load_balancer.verify_load_balancer(run).failed
            # the lab's /var/log/nginx is the LB host's own, never the machine's
            assert lb.run("test -f %s", mgt.logs[1], sudo=True).ok
            assert not os.path.exists(mgt.logs[1]) or "runbook-log-check" not in open(mgt.logs[1]).read()
            for v in nginx_conf.workers(p):
                h = run.host(v.host_name)
                h.write_file("/tmp/rbtest-ws-echo.py", WS_ECHO.encode(), backup=False)
                pid = h.check("nohup python3 /tmp/rbtest-ws-echo.py %s %s >/dev/null 2>&1 & echo $!",
                              v.address, v.ports["pt_http"]).stdout.strip()
                started.append((h, pid))
                assert lb.run("for i in $(seq 50); do timeout 1 bash -c %s && exit 0; sleep 0.1; done; exit 1",
                              f"</dev/tcp/{v.address}/{v.ports['pt_http']}").ok
            lb.check("nginx -s reload && sleep 1", sudo=True)  # forget the peers marked failed before
            http_v = nginx_conf.http_vhost(p)
            conn = http.client.HTTPConnection(str(p.hosts[p.load_balancer.host].address), http_v.port, timeout=5)
            try:
                conn.request("GET", "/ws", headers={"Host": http_v.server_name, "Upgrade": "websocket",
                                                    "Connection": "Upgrade", "Sec-WebSocket-Version": "13",
                                                    "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="})
                r = conn.getresponse()
                body = r.read().decode()
            finally:
                conn.close()
            assert r.status == 200 and r.getheader(nginx_conf.MARKER) == http_v.server_name
            assert body == "HTTP/1.1|websocket|upgrade", body
        finally:
            for h, pid in started:
                h.run("kill %s", pid)
                h.run("rm -f /tmp/rbtest-ws-echo.py")
            run.close()
    finally:
        labmod.down(p, **quiet)
