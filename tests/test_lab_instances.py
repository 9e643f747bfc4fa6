"""Two lab instances side by side: two example layouts (which use the same
addresses in their files) up at once, the runbook applied on both at the
same time, one taken down while the other stays healthy, then nothing of
either left. Named instances never touch the default lab."""

from __future__ import annotations

import http.client
import ipaddress
import os
import subprocess
from pathlib import Path

import pytest
from lxml import etree

from runbook_lib.lab.net import Names
from runbook_lib.lab.services import alive
from runbook_lib.params import instance as pin
from runbook_lib.params import load_params
from runbook_lib.params.load import read_raw

from .conftest import ROOT, _need_root, cmdline

pytestmark = pytest.mark.lab
RUNBOOK = str(ROOT / ".venv" / "bin" / "runbook")
LAYOUTS = ("params/ei-nginx-002.yaml", "params/ei-integrator-004.yaml")


def _runbook(args: list[str], name: str, **kw) -> subprocess.Popen:
    return subprocess.Popen([RUNBOOK, *args], cwd=ROOT, env={**os.environ, pin.ENV: name},
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **kw)


def _all(procs: dict[str, subprocess.Popen], timeout: float) -> dict[str, tuple[int, str]]:
    out = {}
    for name, proc in procs.items():
        text, _ = proc.communicate(timeout=timeout)
        out[name] = (proc.returncode, text)
    return out


def _params(name: str, layout: str, monkeypatch):
    monkeypatch.setenv(pin.ENV, name)
    return load_params(ROOT / layout)


def _started(pid: int) -> int | None:
    """The process's start time (clock ticks since boot, field 22 of /proc/PID/stat), or None
    when it is gone. A pid with another start time is another process: the machine has
    32768 pids and eight test processes wrap them in minutes."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return int(f.read().rsplit(")", 1)[1].split()[19])
    except (OSError, ValueError, IndexError):
        return None


def _same_running(proc: tuple[int, int]) -> bool:
    """PROC (pid, start time) is still that very process, and running."""
    pid, start = proc
    return _started(pid) == start and alive(pid)


def _leftovers(name: str, pids: list[tuple[int, int]]) -> list[str]:
    """Everything of instance NAME still on the machine."""
    n = Names(name)
    ns = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout.split()
    links = subprocess.run(["ip", "-o", "link", "show"], capture_output=True, text=True).stdout
    found = [x for x in ns if x.startswith(n.prefix)]
    found += [line for line in links.splitlines() if f" {n.bridge}:" in line or f" {n.prefix}" in line]
    found += [str(p) for p in Path("/etc/netns").glob(n.prefix + "*")] if Path("/etc/netns").is_dir() else []
    found += [str(p) for p in (Path(pin.lab_dir_for("/tmp/wso2-runbook-lab", name)), pin.record_path(name))
              if p.exists()]
    # a zombie waiting for its reaper is not running; the command line says what was left
    found += [f"pid {cmdline(p[0])}" for p in pids if _same_running(p)]
    return found


def _pids(name: str) -> list[tuple[int, int]]:
    """The instance's lasting processes, as (pid, start time): those in its namespaces, less
    the rsync schedule loop's (06 on 004: its sleep and rsync end and start again every
    interval)."""
    n = Names(name)
    ns = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout.split()
    out = []
    for x in ns:
        if x.startswith(n.prefix):
            out += [int(p) for p in subprocess.run(["ip", "netns", "pids", x], capture_output=True,
                                                   text=True).stdout.split()]

    def passing(pid: int) -> bool:
        try:
            return os.readlink(f"/proc/{pid}/cwd").endswith("/rsync-for-carbon-depsync")
        except OSError:
            return True  # already gone
    listed = [(p, _started(p)) for p in out if not passing(p)]
    return [(p, start) for p, start in listed if start is not None]


def _through_nginx(p) -> tuple[int, str]:
    """GET /services through the instance's nginx, as the cluster host name."""
    lb = str(p.hosts[p.load_balancer.host].address)
    c = http.client.HTTPConnection(lb, p.load_balancer.http_port, timeout=10)
    c.request("GET", "/services", headers={"Host": p.cluster.hostnames.cluster})
    r = c.getresponse()
    return r.status, r.read().decode("utf-8", "replace")


def _member_host(p, node: str) -> str:
    """localMemberHost in NODE's axis2.xml, read from the lab host's own /opt."""
    n = p.nodes[node]
    axis2 = Path(p.lab.dir) / "hosts" / n.host / "opt" / n.home.removeprefix("/opt/") / "conf/axis2/axis2.xml"
    tree = etree.parse(str(axis2))
    found = tree.xpath("//clustering/parameter[@name='localMemberHost']/text()")
    return found[0].strip() if found else ""


def test_two_instances_side_by_side(tmp_path, monkeypatch):
    _need_root()
    tag = f"{os.getpid() % 100000:05}"
    names = {f"a{tag}": LAYOUTS[0], f"b{tag}": LAYOUTS[1]}
    pids: dict[str, list[int]] = {}
    try:
        ups = _all({n: _runbook(["lab", "up", "--instance", n, lay], "") for n, lay in names.items()}, 600)
        for n, (rc, text) in ups.items():
            assert rc == 0 and "lab healthy" in text, text
        params = {n: _params(n, lay, monkeypatch) for n, lay in names.items()}
        subnets = [p.lab.subnet for p in params.values()]
        assert not subnets[0].overlaps(subnets[1])
        written = ipaddress.IPv4Network(read_raw(ROOT / LAYOUTS[0])["lab"]["subnet"])  # 198.51.100.0/24
        assert not any(s.overlaps(written) for s in subnets)
        runs = _all({n: _runbook(["run", lay, "--apply", "--out", str(tmp_path / n)], n)
                     for n, lay in names.items()}, 1200)
        for n, (rc, text) in runs.items():
            assert rc == 0 and "0 failed" in text, text
        for n, p in params.items():
            for node in ("manager", "worker1") if "manager" in p.nodes else ("node1", "node2"):
                # the instance's own address reached the product's file on the host
                assert _member_host(p, node) == str(p.hosts[p.nodes[node].host].address)
            status, body = _through_nginx(p)
            assert status == 200 and "services" in body.lower(), (status, body[:300])
            pids[n] = _pids(n)
            assert pids[n]
        first, second = list(names)
        res = subprocess.run([RUNBOOK, "lab", "down", "--instance", first, names[first]], cwd=ROOT,
                             capture_output=True, text=True, timeout=300)
        assert res.returncode == 0, res.stdout + res.stderr
        assert _leftovers(first, pids[first]) == []
        # the other one is untouched: healthy, still as the runbook left it, still serving through nginx
        st = _all({second: _runbook(["lab", "status", "--instance", second, names[second]], "")}, 120)[second]
        assert st[0] == 0 and st[1].rstrip().endswith("lab healthy"), st[1]
        check = _all({second: _runbook(["check", names[second], "--sections", "00_preflight", "01_load_balancer",
                                        "03_databases", "--out", str(tmp_path / "check")], second)}, 600)[second]
        assert check[0] == 0, check[1]
        assert _through_nginx(params[second])[0] == 200
        assert all(_same_running(p) for p in pids[second])
        res = subprocess.run([RUNBOOK, "lab", "down", "--instance", second], cwd=ROOT,
                             capture_output=True, text=True, timeout=300)
        assert res.returncode == 0, res.stdout + res.stderr
        assert _leftovers(first, pids[first]) == [] and _leftovers(second, pids[second]) == []
    finally:
        for n, lay in names.items():
            subprocess.run([RUNBOOK, "lab", "down", "--instance", n, lay], cwd=ROOT, capture_output=True, timeout=300)
