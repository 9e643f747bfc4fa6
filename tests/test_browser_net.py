"""The browser tests' private network (browser_net.py): loopback only, and a
port of the machine's loopback reachable at the same address inside."""

from __future__ import annotations

import http.server
import os
import subprocess
import sys
import threading

import pytest

from .browser_net import PrivateNet


@pytest.fixture
def server():
    class Hello(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server's name
            body = f"hello {self.path}".encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_):  # noqa: ANN002
            pass

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hello)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield srv.server_address[1]
    srv.shutdown()
    srv.server_close()


def test_inside_has_loopback_only_and_reaches_the_forwarded_port(server, tmp_path):
    if os.geteuid() != 0:
        pytest.skip("a network namespace needs root")
    net = PrivateNet([server])
    try:
        inside = ["nsenter", f"--net=/proc/{os.getpid()}/fd/{net.fd}"]
        links = subprocess.run([*inside, "ip", "-o", "link"], capture_output=True, text=True, check=True).stdout
        assert [line.split(":")[1].strip() for line in links.splitlines()] == ["lo"]
        assert os.readlink(f"/proc/{os.getpid()}/fd/{net.fd}") != os.readlink("/proc/self/ns/net")
        get = (f"import urllib.request; print(urllib.request.urlopen('http://127.0.0.1:{server}/x', timeout=10)"
               ".read().decode())")
        for n in range(3):  # one connection each, all forwarded
            res = subprocess.run([*inside, sys.executable, "-c", get], capture_output=True, text=True, timeout=30)
            assert res.stdout.strip() == "hello /x", res.stderr
        script = net.executable("/usr/bin/env", tmp_path)
        assert subprocess.run([script, "ip", "-o", "link"], capture_output=True, text=True).stdout == links
    finally:
        net.close()
