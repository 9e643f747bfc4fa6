"""The lab's network: one bridge on the machine, one namespace per host.

Safety first: before anything is created, ``check_no_overlap`` reads the
machine's routes and addresses and refuses a subnet that touches any of them
(DEVELOPERS.md: never create an address or route that overlaps one already
on the machine). Only names with the lab prefix are ever deleted.
"""

from __future__ import annotations

import ipaddress
import json
import subprocess

from ..core.errors import LabError

PREFIX = "rblab-"
BRIDGE = "rblab0"


def ns_name(host: str) -> str:
    return PREFIX + host


def veth_name(index: int) -> str:
    return f"rblv{index}"


def ip(*args: str, check: bool = True, ns: str | None = None) -> subprocess.CompletedProcess:
    cmd = (["ip", "netns", "exec", ns, "ip"] if ns else ["ip"]) + list(args)
    res = subprocess.run(cmd, capture_output=True, text=True)
    if check and res.returncode != 0:
        raise LabError(f"`{' '.join(cmd)}` failed: {res.stderr.strip()}")
    return res


def _json(*args: str) -> list[dict]:
    out = ip("-j", *args).stdout.strip()
    return json.loads(out) if out else []


def machine_networks() -> list[tuple[ipaddress.IPv4Network, str]]:
    """Every IPv4 route and address on the machine, except the lab's own."""
    found: list[tuple[ipaddress.IPv4Network, str]] = []
    for r in _json("-4", "route", "show", "table", "all"):
        dst, dev = r.get("dst", ""), r.get("dev", "")
        if dev == BRIDGE or dst in ("default", "") or r.get("type") in ("broadcast",):
            continue
        try:
            net = ipaddress.IPv4Network(dst, strict=False)
        except ValueError:
            continue
        if net.is_loopback:
            continue
        found.append((net, f"route {dst} dev {dev}"))
    for link in _json("-4", "addr", "show"):
        if link.get("ifname") == BRIDGE:
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


def lab_namespaces() -> list[str]:
    res = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True)
    return [line.split()[0] for line in res.stdout.splitlines() if line.startswith(PREFIX)]


def link_exists(name: str) -> bool:
    return ip("link", "show", name, check=False).returncode == 0


def create_bridge(gateway: ipaddress.IPv4Address, subnet: ipaddress.IPv4Network) -> None:
    ip("link", "add", BRIDGE, "type", "bridge")
    ip("addr", "add", f"{gateway}/{subnet.prefixlen}", "dev", BRIDGE)
    ip("link", "set", BRIDGE, "up")


def create_host(index: int, host: str, address: ipaddress.IPv4Address, subnet: ipaddress.IPv4Network) -> None:
    """A namespace with loopback and one eth0 on the bridge; no default route,
    so a lab host can reach only the lab."""
    ns, veth = ns_name(host), veth_name(index)
    ip("netns", "add", ns)
    ip("link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", ns)
    ip("link", "set", veth, "master", BRIDGE)
    ip("link", "set", veth, "up")
    ip("link", "set", "lo", "up", ns=ns)
    ip("addr", "add", f"{address}/{subnet.prefixlen}", "dev", "eth0", ns=ns)
    ip("link", "set", "eth0", "up", ns=ns)


def allow_low_ports(host: str, start: int) -> None:
    """Let non-root processes of HOST bind ports from START (the namespace's own sysctl)."""
    res = subprocess.run(["ip", "netns", "exec", ns_name(host), "sysctl", "-q", "-w",
                          f"net.ipv4.ip_unprivileged_port_start={start}"], capture_output=True, text=True)
    if res.returncode != 0:
        raise LabError(f"cannot set ip_unprivileged_port_start in {ns_name(host)}: {res.stderr.strip()}")


def namespace_pids(ns: str) -> list[int]:
    res = subprocess.run(["ip", "netns", "pids", ns], capture_output=True, text=True)
    return [int(x) for x in res.stdout.split()]


def delete_network() -> list[str]:
    """Remove every lab namespace, veth and the bridge. Safe to run twice."""
    removed = []
    for ns in lab_namespaces():
        ip("netns", "del", ns, check=False)
        removed.append(f"namespace {ns}")
    for link in _json("link", "show"):
        name = link.get("ifname", "")
        if name.startswith("rblv"):
            ip("link", "del", name, check=False)
            removed.append(f"link {name}")
    if link_exists(BRIDGE):
        ip("link", "del", BRIDGE, check=False)
        removed.append(f"bridge {BRIDGE}")
    return removed
