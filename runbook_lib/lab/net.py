"""The lab's network: one bridge on the machine, one namespace per host.

Safety first: before anything is created, ``check_no_overlap`` reads the
machine's routes and addresses and refuses a subnet that touches any of them
(DEVELOPERS.md: never create an address or route that overlaps one already
on the machine). Only names with the lab prefix are ever deleted.
"""

from __future__ import annotations

import ipaddress
import json
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from ..core.errors import LabError
from ..params.instance import current

IFNAMSIZ = 15  # the longest Linux interface name


@dataclass(frozen=True)
class Names:
    """The machine-wide names of one lab instance. The default instance ('')
    keeps the names the lab always had; a named one uses ``rbi-NAME-``, which
    no other instance's names start with (instance names have no "-"), so
    ``down`` of one never matches another's."""

    instance: str = ""

    @property
    def prefix(self) -> str:
        """Namespaces (and /etc/netns/ folders): prefix + host name."""
        return f"rbi-{self.instance}-" if self.instance else "rblab-"

    @property
    def bridge(self) -> str:
        return f"rbi-{self.instance}" if self.instance else "rblab0"

    def veth(self, index: int) -> str:
        name = f"{self.prefix}{index}" if self.instance else f"rblv{index}"
        if len(name) > IFNAMSIZ:
            raise LabError(f"interface name {name} is longer than Linux allows ({IFNAMSIZ})",
                           fix="use a shorter lab instance name or fewer hosts")
        return name

    def is_veth(self, link: str) -> bool:
        return re.fullmatch(re.escape(self.prefix if self.instance else "rblv") + r"\d+", link) is not None

    @property
    def lock(self) -> Path:
        """The lock file people and tests hold while they use this instance."""
        return Path(f"/tmp/rblab-{self.instance}.lock" if self.instance else "/tmp/rblab.lock")


def names() -> Names:
    """The current instance's names (RUNBOOK_LAB_INSTANCE, read each time)."""
    return Names(current())


def ns_name(host: str) -> str:
    return names().prefix + host


def ip(*args: str, check: bool = True, ns: str | None = None) -> subprocess.CompletedProcess:
    cmd = (["ip", "netns", "exec", ns, "ip"] if ns else ["ip"]) + list(args)
    res = subprocess.run(cmd, capture_output=True, text=True)
    if check and res.returncode != 0:
        raise LabError(f"`{' '.join(cmd)}` failed: {res.stderr.strip()}")
    return res


def _json(*args: str) -> list[dict]:
    out = ip("-j", *args).stdout.strip()
    return json.loads(out) if out else []


def machine_networks(own_bridge: str | None = None) -> list[tuple[ipaddress.IPv4Network, str]]:
    """Every IPv4 route and address on the machine, except this lab
    instance's own (other instances' bridges count: they must not overlap)."""
    bridge = own_bridge or names().bridge
    found: list[tuple[ipaddress.IPv4Network, str]] = []
    for r in _json("-4", "route", "show", "table", "all"):
        dst, dev = r.get("dst", ""), r.get("dev", "")
        if dev == bridge or dst in ("default", "") or r.get("type") in ("broadcast",):
            continue
        try:
            net = ipaddress.IPv4Network(dst, strict=False)
        except ValueError:
            continue
        if net.is_loopback:
            continue
        found.append((net, f"route {dst} dev {dev}"))
    for link in _json("-4", "addr", "show"):
        if link.get("ifname") == bridge:
            continue
        for a in link.get("addr_info", []):
            net = ipaddress.IPv4Network(f"{a['local']}/{a['prefixlen']}", strict=False)
            if not net.is_loopback:
                found.append((net, f"address {a['local']}/{a['prefixlen']} on {link['ifname']}"))
    return found


def check_no_overlap(subnet: ipaddress.IPv4Network) -> None:
    """Stop with a clear message if the lab subnet touches the machine's networks."""
    clashes = [what for net, what in machine_networks() if net.overlaps(subnet)]
    if clashes:
        raise LabError(
            f"lab subnet {subnet} overlaps the machine's own networks ({'; '.join(sorted(set(clashes)))}). "
            "Nothing was created", fix="choose another lab.subnet in the params file, "
            "e.g. a documentation range such as 198.51.100.0/24 or 203.0.113.0/24."
        )


def all_namespaces() -> list[str]:
    res = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True)
    return [line.split()[0] for line in res.stdout.splitlines() if line.strip()]


def lab_namespaces() -> list[str]:
    """This instance's namespaces only."""
    prefix = names().prefix
    return [ns for ns in all_namespaces() if ns.startswith(prefix)]


def link_exists(name: str) -> bool:
    return ip("link", "show", name, check=False).returncode == 0


def create_bridge(gateway: ipaddress.IPv4Address, subnet: ipaddress.IPv4Network) -> None:
    bridge = names().bridge
    ip("link", "add", bridge, "type", "bridge")
    ip("addr", "add", f"{gateway}/{subnet.prefixlen}", "dev", bridge)
    ip("link", "set", bridge, "up")


def create_host(index: int, host: str, address: ipaddress.IPv4Address, subnet: ipaddress.IPv4Network) -> None:
    """A namespace with loopback and one eth0 on the bridge; no default route,
    so a lab host can reach only the lab."""
    ns, veth, bridge = ns_name(host), names().veth(index), names().bridge
    ip("netns", "add", ns)
    ip("link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", ns)
    ip("link", "set", veth, "master", bridge)
    ip("link", "set", veth, "up")
    ip("link", "set", "lo", "up", ns=ns)
    ip("addr", "add", f"{address}/{subnet.prefixlen}", "dev", "eth0", ns=ns)
    ip("link", "set", "eth0", "up", ns=ns)


def namespace_pids(ns: str) -> list[int]:
    res = subprocess.run(["ip", "netns", "pids", ns], capture_output=True, text=True)
    return [int(x) for x in res.stdout.split()]


def delete_network() -> list[str]:
    """Remove this instance's namespaces, veths and bridge. Safe to run twice."""
    removed, own = [], names()
    for ns in lab_namespaces():
        ip("netns", "del", ns, check=False)
        removed.append(f"namespace {ns}")
    for link in _json("link", "show"):
        name = link.get("ifname", "")
        if own.is_veth(name):
            ip("link", "del", name, check=False)
            removed.append(f"link {name}")
    if link_exists(own.bridge):
        ip("link", "del", own.bridge, check=False)
        removed.append(f"bridge {own.bridge}")
    return removed


def mac(link: str, ns: str | None = None) -> str:
    found = _json(*(["-n", ns] if ns else []), "link", "show", link)
    return found[0]["address"]


def pin_neighbours(hosts: dict[str, ipaddress.IPv4Address], gateway: ipaddress.IPv4Address) -> None:
    """Permanent ARP entries for every lab address, in every lab namespace and
    on the bridge. The kernel keeps one neighbour table for all namespaces, and
    its gc_thresh3 (1024 by default) counts the dynamic entries of all of them:
    N hosts that all talk to each other (a cluster's heartbeats) make about N²
    entries, so 33 nodes overflow it ("neighbor table overflow" in dmesg) and
    ARP then fails at random, in this lab and in every other on the machine
    (issue 23: sshd, MariaDB and members unreachable at 32 workers). Permanent
    entries are not counted (Linux 4.20+), so this changes no machine setting."""
    macs = {str(addr): mac("eth0", ns_name(name)) for name, addr in hosts.items()}
    entries = {str(gateway): mac(names().bridge), **macs}
    for name, addr in hosts.items():
        batch = "".join(f"neigh replace {a} lladdr {m} dev eth0 nud permanent\n"
                        for a, m in entries.items() if a != str(addr))
        _batch(batch, ns_name(name))
    _batch("".join(f"neigh replace {a} lladdr {m} dev {names().bridge} nud permanent\n" for a, m in macs.items()))


def _batch(commands: str, ns: str | None = None) -> None:
    cmd = ["ip"] + (["-n", ns] if ns else []) + ["-batch", "-"]
    res = subprocess.run(cmd, input=commands, capture_output=True, text=True)
    if res.returncode != 0:
        raise LabError(f"`{' '.join(cmd)}` failed: {res.stderr.strip()}")
