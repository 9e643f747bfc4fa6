"""Bring-up and tear-down of the lab leave the machine exactly as it was.

Runs first (file name) and ends with the lab down, so the session fixture
starts from nothing.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
import yaml

from runbook_lib.core.errors import LabError
from runbook_lib.lab import api as labmod
from runbook_lib.lab import net
from runbook_lib.params import load_params
from runbook_lib.params.instance import current, read_record

from .conftest import PARAMS_LAB, UPSTREAM, cmdline, lab_ip, skip_if_shared

pytestmark = pytest.mark.lab
quiet = {"log": lambda *_: None}
CHROMIUM_HOME = "/usr/lib/chromium/"  # Debian's chromium: /usr/bin/chromium runs it


def _others(name: str) -> bool:
    """A network name of another lab instance than the running test's (they
    come and go while tests run side by side)."""
    own = net.names()
    lab = name.startswith("rbi-") or name == "rblab0" or net.Names("").is_veth(name)
    return lab and name != own.bridge and not own.is_veth(name) and not name.startswith(own.prefix)


def _named_netns() -> set[str]:
    return {f"net:[{ns.stat().st_ino}]" for ns in Path("/run/netns").iterdir()} \
        if Path("/run/netns").is_dir() else set()


def unnamed_netns() -> dict[str, list[int]]:
    """Network namespaces that processes are in and no name in /run/netns
    holds (a lab's leftover processes would be here), with their pids. Names
    are read before and after the scan of /proc: other instances add theirs
    meanwhile, and one created during the scan is not a leftover. A browser
    test's Chromium runs in an unnamed namespace of its own (browser_net.py):
    one that holds only Chromium is not counted."""
    named = _named_netns()
    in_use: dict[str, list[int]] = {}
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                in_use.setdefault(os.readlink(f"/proc/{pid}/ns/net"), []).append(int(pid))
            except OSError:
                pass
    named |= _named_netns()
    return {ns: pids for ns, pids in in_use.items()
            if ns not in named and not all(_exe(pid).startswith(CHROMIUM_HOME) for pid in pids)}


def _exe(pid: int) -> str:
    try:
        return os.readlink(f"/proc/{pid}/exe")
    except OSError:
        return ""


def leftover_netns(before: set[str], settle_s: float = 10.0) -> dict[str, list[str]]:
    """Unnamed namespaces in use now that were not before, with their
    processes' command lines. One that is gone within SETTLE_S was another
    instance's coming or going (instances run side by side); one that stays
    is a leftover."""
    deadline = time.monotonic() + settle_s
    while True:
        extra = {ns: pids for ns, pids in unnamed_netns().items() if ns not in before}
        if not extra or time.monotonic() > deadline:
            return {ns: [cmdline(pid) for pid in pids] for ns, pids in extra.items()}
        time.sleep(0.5)


def snapshot() -> dict:
    """What the lab may touch: namespaces, links, network namespaces in use
    by processes, the lab's folders, /etc/netns, the machine's routes. Other
    lab instances' names are left out: they may be up or down meanwhile."""
    links = [line.split(":")[1].strip().split("@")[0] for line in
             subprocess.run(["ip", "-o", "link"], capture_output=True, text=True).stdout.splitlines()]
    routes = subprocess.run(["ip", "route"], capture_output=True, text=True).stdout.splitlines()
    return {
        "netns": sorted(n for n in (line.split()[0] for line in subprocess.run(
            ["ip", "netns", "list"], capture_output=True, text=True).stdout.splitlines()) if not _others(n)),
        "links": sorted(x for x in links if not _others(x)),
        "routes": [r for r in routes if not any(_others(w) for w in r.split())],
        "netns_in_use": set(unnamed_netns()),
        "lab_dir": Path(lab_ip("/tmp/wso2-runbook-lab")).exists(),
        "etc_netns": sorted(x for x in os.listdir("/etc/netns") if not _others(x)) if Path("/etc/netns").exists()
        else None,
        "etc_hosts": Path("/etc/hosts").read_bytes(),
    }


def assert_as_before(before: dict) -> None:
    """The machine as the snapshot BEFORE found it, and no process left in a namespace of its own."""
    after = snapshot()
    assert leftover_netns(before["netns_in_use"]) == {}
    assert {k: v for k, v in after.items() if k != "netns_in_use"} == \
           {k: v for k, v in before.items() if k != "netns_in_use"}


@pytest.fixture(scope="module")
def params():
    if os.geteuid() != 0:
        pytest.skip("the lab needs root")
    skip_if_shared()
    p = load_params(PARAMS_LAB)
    labmod.down(p, **quiet)
    return p


def test_overlapping_subnet_is_refused_before_anything_is_created(params, tmp_path):
    raw = yaml.safe_load(PARAMS_LAB.read_text())
    raw["lab"].update(subnet="192.0.2.0/25", gateway="192.0.2.100", dir=str(tmp_path / "lab"))
    for i, h in enumerate(raw["hosts"].values()):
        h["address"] = f"192.0.2.{10 + i}"
    raw["deployment_sync"]["url"] = "svn://192.0.2.12/wso2"
    raw["database"]["app_user_host"] = "192.0.2.%"
    f = tmp_path / "overlap.yaml"
    f.write_text(yaml.safe_dump(raw))
    before = snapshot()
    name = current()
    if name:  # a named instance's subnet is chosen at allocation: the overlap is refused there
        other = name[:6] + "o"
        with pytest.raises(LabError, match=r"--subnet 192\.0\.2\.0/24 overlaps .*192\.0\.2\.0/24.*Nothing was created"):
            labmod.allocate(other, yaml.safe_load(f.read_text()) | {"lab": {"subnet": "192.0.2.0/24"}}, str(f),
                            requested="192.0.2.0/24")
        assert read_record(other) is None
    else:
        with pytest.raises(LabError, match=r"overlaps the machine's own networks .*192\.0\.2\.0/24.*Nothing was "):
            labmod.up(load_params(f), f, **quiet)
    assert_as_before(before)
    assert not (tmp_path / "lab").exists()


def test_a_process_left_in_an_unnamed_namespace_is_found(params):
    """The leftover check itself: a process in a namespace no name holds (as a
    lab process would be, had down deleted its namespace and missed it)."""
    before = set(unnamed_netns())
    proc = subprocess.Popen(["unshare", "--net", "sleep", "60"])
    try:
        deadline = time.monotonic() + 10
        while os.readlink(f"/proc/{proc.pid}/ns/net") == os.readlink("/proc/self/ns/net") \
                and time.monotonic() < deadline:
            time.sleep(0.05)  # unshare has not yet exec'd sleep in its new namespace
        found = leftover_netns(before, settle_s=1.0)
        assert [ns for ns, cmds in found.items() if f"{proc.pid} sleep 60 " in cmds], found
    finally:
        proc.kill()
        proc.wait()
    assert proc.pid not in {pid for pids in unnamed_netns().values() for pid in pids}


def test_up_is_idempotent_recovers_from_a_crash_and_down_restores_everything(params):
    before = snapshot()
    labmod.up(params, PARAMS_LAB, **quiet)
    st = labmod.status(params)
    assert st["healthy"]
    pids = {h: s["services"]["sshd"]["pid"] for h, s in st["hosts"].items()}

    messages: list[str] = []
    labmod.up(params, PARAMS_LAB, log=messages.append)
    assert messages == [f"lab already up and healthy ({params.lab.dir}); nothing to do"]
    assert {h: s["services"]["sshd"]["pid"] for h, s in labmod.status(params)["hosts"].items()} == pids

    # A crash: the database host's processes die and the state file is lost.
    for pid in subprocess.run(["ip", "netns", "pids", net.ns_name("db")], capture_output=True,
                              text=True).stdout.split():
        os.kill(int(pid), signal.SIGKILL)
    Path(params.lab.dir, "state.json").unlink()
    assert not labmod.status(params)["healthy"]
    labmod.up(params, PARAMS_LAB, **quiet)
    assert labmod.status(params)["healthy"]

    labmod.down(params, **quiet)
    assert labmod.down(params, **quiet) == []  # twice is safe and finds nothing
    assert_as_before(before)


def test_distribution_builds_a_home_from_real_files(params):
    dist = UPSTREAM / "ei-6.1.1"
    labmod.up(params, PARAMS_LAB, {"ei-6.1.1": dist}, **quiet)
    try:
        from runbook_lib.remote.inventory import hosts_from_params
        hosts = hosts_from_params(params)
        h = hosts["node132"]
        for rel in ("conf/axis2/axis2.xml", "conf/carbon.xml", "wso2/broker/conf/broker.xml", "dbscripts/mysql.sql"):
            assert h.read_file(f"/opt/wso2/worker2/wso2ei-6.1.1/{rel}") == (dist / rel).read_bytes(), rel
        # files the distribution folder lacks still come from our skeleton
        assert h.run("test -f /opt/wso2/worker2/wso2ei-6.1.1/bin/version.txt").ok
        for host in hosts.values():
            host.close()
    finally:
        labmod.down(params, **quiet)
    with pytest.raises(LabError, match="not a directory"):
        labmod.up(params, PARAMS_LAB, {"ei-6.1.1": Path("/nonexistent")}, **quiet)
