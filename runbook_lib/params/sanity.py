"""Sanity rules for every address, host name, path and port in a params file,
wherever it occurs, and a few rules about what one cluster can be.

Each rule follows from how the hosts and the products behave, not from a list
of bad examples:

- An address must be one a host can own and others can reach: not
  0.0.0.0/8 ("this network"), loopback, multicast, reserved (240/4) or the
  limited broadcast, and not the network or broadcast address of its /24
  (with a ``lab:`` section the lab subnet decides; without one, .0 and .255
  are refused because in the /24 and smaller networks a cluster lives in
  they are never a host's address).
- A host name must be a DNS name (RFC 1123: labels of 1-63 letters, digits
  and '-', 253 characters in all, not all-numeric like an address) that can
  safely go into every node's /etc/hosts: not ``localhost`` (which would take
  loopback away from the node's own processes) and never mapped to two
  addresses, since /etc/hosts answers with the first line and silently
  ignores the other.
- A path on a host is absolute, normalised (no ``.``, ``..``, ``//`` or
  trailing ``/``) and made only of characters that need no shell quoting, so
  it means the same in sftp, in a shell command and in an XML file. A path
  on this machine may be relative to the params file or start with ``~``,
  with the same characters and no ``..``.
- A port is opened once per host: every port of a node (its offset-shifted
  Carbon, pass-through and broker ports and its unshifted localMemberPort)
  differs from its other ports and from sshd on that host. Clashes between
  two nodes or with other services are checked in ``checks.py``.
- One Hazelcast cluster (manager/worker/member nodes, or broker nodes) runs
  one product and version: the manager deploys artifacts that the workers of
  that same product load.
"""

from __future__ import annotations

import posixpath
import re
from collections import defaultdict
from ipaddress import IPv4Address, IPv4Network
from pathlib import Path

from ..core.errors import Problem
from .derive import hosts_entries, node_ports
from .model import Params

SAFE_PATH_CHARS = re.compile(r"^[A-Za-z0-9._+@/-]+$")
LABEL_RE = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")
MAX_HOSTNAME = 253


def address_problem(ip: IPv4Address, subnet: IPv4Network | None = None) -> str | None:
    """Why no host can have IP, or None."""
    if ip.is_unspecified or ip in IPv4Network("0.0.0.0/8"):
        return f"{ip} is in 0.0.0.0/8 (\"this network\"), which no host can own"
    if ip.is_loopback:
        return f"{ip} is a loopback address: every host would reach itself, not this host"
    if ip.is_multicast:
        return f"{ip} is a multicast address, not a host's address"
    if ip == IPv4Address("255.255.255.255"):
        return f"{ip} is the limited broadcast address"
    if ip.is_reserved:
        return f"{ip} is in the reserved range 240.0.0.0/4"
    if subnet is None:
        last = int(ip) & 0xFF
        if last in (0, 255):
            kind = "network" if last == 0 else "broadcast"
            return f"{ip} is the {kind} address of its /24, not a host's address"
    return None


def hostname_problem(name: str) -> str | None:
    """Why NAME cannot be a cluster's host name, or None."""
    if len(name) > MAX_HOSTNAME:
        return f"a host name of {len(name)} characters (RFC 1123 allows at most {MAX_HOSTNAME})"
    labels = name.rstrip(".").split(".")
    bad = [label for label in labels if not LABEL_RE.match(label)]
    if bad:
        return f"`{bad[0][:70]}` is not a valid host name label (RFC 1123: 1-63 letters, digits or '-')"
    if labels[-1].isdigit():
        return f"`{name}` looks like an IP address, not a host name (its last label is all digits)"
    low = name.lower().rstrip(".")
    if low == "localhost" or low.endswith(".localhost") or low == "localhost.localdomain":
        return f"`{name}` is the loopback name: mapping it in /etc/hosts takes loopback away from every node"
    return None


def path_problem(value: str, remote: bool) -> str | None:
    """Why VALUE is not a safe path, or None."""
    if not SAFE_PATH_CHARS.match(value.removeprefix("~")):
        bad = sorted({c for c in value.removeprefix("~") if not SAFE_PATH_CHARS.match(c)})
        shown = " ".join(repr(c) for c in bad[:5])
        return f"{value!r} contains {shown}: only letters, digits and . _ + @ - / are allowed in a path"
    if remote and not value.startswith("/"):
        return f"{value!r} is not an absolute path"
    parts = value.split("/")
    if ".." in parts:
        return f"{value!r} contains `..`"
    norm = posixpath.normpath(value) if value not in ("/", "~") else value
    if value.startswith("//") or norm != value:
        return f"{value!r} is not normalised (it means {norm})"
    if any(len(part) > 255 for part in parts) or len(value) > 4096:
        return f"{value!r} is longer than a path can be"
    return None


def sanity_checks(p: Params, file: str, base: Path) -> list[Problem]:
    """Every address, host name, path and port rule above, as Problems."""
    out: list[Problem] = []

    def err(field: str, message: str, fix: str) -> None:
        out.append(Problem(file, field, message, fix))

    # --- addresses ---------------------------------------------------------
    subnet = p.lab.subnet if p.lab else None
    addresses: list[tuple[str, IPv4Address]] = [(f"hosts.{h}.address", v.address) for h, v in p.hosts.items()]
    addresses += [(f"cluster.extra_hosts.{i}.address", e.address) for i, e in enumerate(p.cluster.extra_hosts)]
    addresses += [(f"nodes.{n}.local_member_host", IPv4Address(v.local_member_host))
                  for n, v in p.nodes.items() if v.local_member_host]
    for field, ip in addresses:
        why = address_problem(ip, subnet)
        if why and not (field.endswith("local_member_host") and (ip.is_loopback or ip.is_unspecified)):
            err(field, why, "give the host's own unicast address, the one the other hosts reach it at")
    if p.lab:
        why = address_problem(p.lab.gateway, subnet)
        if why:
            err("lab.gateway", why, "pick a unicast address inside lab.subnet, e.g. its .1")

    # --- host names --------------------------------------------------------
    hn = p.cluster.hostnames
    names = [("cluster.hostnames.cluster", hn.cluster), ("cluster.hostnames.management", hn.management)]
    if hn.database:
        names.append(("cluster.hostnames.database", hn.database))
    names += [(f"cluster.extra_hosts.{i}.name", e.name) for i, e in enumerate(p.cluster.extra_hosts)]
    for field, name in names:
        why = hostname_problem(name)
        if why:
            err(field, why, "use a DNS name such as esb.wso2.com (at most 253 characters)")
    try:
        own = hosts_entries(p)[:len(hosts_entries(p)) - len(p.cluster.extra_hosts)]  # extras come last
        runbook_names = {name.lower(): addr for addr, name in own}
    except KeyError:  # a dangling host reference, reported by checks.py
        runbook_names = {}
    extra: dict[str, str] = {}
    for i, e in enumerate(p.cluster.extra_hosts):
        field, low, addr = f"cluster.extra_hosts.{i}.name", e.name.lower(), str(e.address)
        if low in runbook_names:
            err(field, f"`{e.name}` is a name the runbook itself maps (to {runbook_names[low]}); this entry would "
                       f"shadow or duplicate it in /etc/hosts", "remove this extra host: the cluster's own names "
                       "come from cluster.hostnames and the load balancer/database hosts")
        elif low in extra and extra[low] != addr:
            err(field, f"`{e.name}` is mapped to two addresses ({extra[low]} and {addr}); /etc/hosts would "
                       "silently use the first", "keep one address for each name")
        extra.setdefault(low, addr)
    _member_names(p, err, {n.lower() for n in (hn.cluster, hn.management, hn.database) if n})
    for field, name in names[:3]:
        for other_field, other in names[:3]:
            if field < other_field and name.lower() == other.lower() and "database" in field + other_field:
                err(other_field, f"same name `{name}` as {field}", "give every role its own name")

    # --- paths -------------------------------------------------------------
    remote = [(f"nodes.{n}.home", v.home) for n, v in p.nodes.items()]
    remote += [("load_balancer.conf_dir", p.load_balancer.conf_dir), ("load_balancer.ssl_dir",
                                                                       p.load_balancer.ssl_dir)]
    if p.database:
        remote.append(("database.driver_jar", p.database.driver_jar))
    if p.deployment_sync.repo_path:
        remote.append(("deployment_sync.repo_path", p.deployment_sync.repo_path))
    if p.lab:
        remote.append(("lab.dir", p.lab.dir))
    local = [("ssh.key", p.ssh.key), ("ssh.known_hosts", p.ssh.known_hosts)]
    if p.secrets_file:
        local.append(("secrets_file", p.secrets_file))
    if p.certificates:
        local += [(f"certificates.{a}", getattr(p.certificates, a)) for a in ("ca_cert", "ca_key")
                  if getattr(p.certificates, a)]
    for field, value in remote + local:
        why = path_problem(value, remote=(field, value) in remote)
        if why:
            err(field, why, "write a plain absolute path, e.g. /opt/wso2/manager/wso2ei-6.1.1")

    def resolved(value: str) -> Path:
        q = Path(value).expanduser()
        return q if q.is_absolute() else base / q
    if resolved(p.ssh.key) == resolved(p.ssh.known_hosts):
        err("ssh.known_hosts", "the same file as ssh.key: writing host keys would destroy the private key",
            "give known_hosts its own file, e.g. ~/.ssh/known_hosts next to the key")
    if p.certificates and p.certificates.ca_cert and p.certificates.ca_key and \
            resolved(p.certificates.ca_cert) == resolved(p.certificates.ca_key):
        err("certificates.ca_key", "the same file as certificates.ca_cert", "give the CA key its own file")

    # --- ports of one node, and sshd ----------------------------------------
    for nname, n in p.nodes.items():
        if n.host not in p.hosts:
            continue
        ports = node_ports(p, n)
        if n.role == "elb":
            ports["group_mgt"] = p.load_balancer.group_mgt_port
        seen: dict[int, str] = {}
        ssh = p.hosts[n.host].ssh_port
        for label, port in ports.items():
            attr = "local_member_port" if label == "local_member" else "offset"
            if port in seen and "thrift" in (label, seen[port]) and "local_member" not in (label, seen[port]):
                pass  # broker_checks.py names brokers.thrift_port for this (ERRATA E12)
            elif port in seen:
                why = " (localMemberPort is not shifted by the offset, ERRATA E10)" if "local_member" in (
                    label, seen[port]) else ""
                err(f"nodes.{nname}.{attr}", f"port {port} ({label}) is also this node's own {seen[port]} port{why}",
                    "pick a localMemberPort or offset so that each of the node's ports is distinct")
            elif port == ssh:
                err(f"nodes.{nname}.{attr}", f"port {port} ({label}) is sshd's port on host `{n.host}`",
                    "change the offset or the localMemberPort")
            seen.setdefault(port, label)

    # --- one product per cluster ----------------------------------------------
    groups: dict[str, list[str]] = defaultdict(list)
    for nname, n in p.nodes.items():
        if n.role in ("manager", "worker", "member"):
            groups["cluster"].append(nname)
        elif n.role == "broker":
            groups["broker"].append(nname)
    for label, members in groups.items():
        first = p.node_product(p.nodes[members[0]]).dist
        for nname in members[1:]:
            dist = p.node_product(p.nodes[nname]).dist
            if dist != first:
                err(f"nodes.{nname}.product", f"runs {dist} but `{members[0]}` in the same {label} runs {first}: "
                    "one cluster runs one product and version", f"give every {label} node product {first}, or "
                    "make the other product a separate params file")

    # --- database accounts, tenants -------------------------------------------
    if p.database and p.database.app_user == p.database.admin_user:
        err("database.app_user", f"the application user is the admin user `{p.database.admin_user}`: the runbook "
            "would reset the admin's password and grants, and the nodes would run with full rights",
            "give the application its own user, e.g. wso2carbon")
    for part in p.load_balancer.tenant_range.split(","):
        if "-" in part:
            lo, hi = (int(x) for x in part.split("-"))
            if lo > hi:
                err("load_balancer.tenant_range", f"the range {part} is reversed (it holds no tenant)",
                    f"write it low to high: {hi}-{lo}")
    return out


def _member_names(p: Params, err, taken: set[str]) -> None:  # noqa: ANN001 - err
    """nodes.*.member_name: a name (not an IP), of a well-known member, one address per name,
    none of the cluster's own names (those point at the load balancer and the database)."""
    seen: dict[str, str] = {}
    for n, v in p.nodes.items():
        if not v.member_name:
            continue
        field, low = f"nodes.{n}.member_name", v.member_name.lower()
        addr = v.local_member_host or (str(p.hosts[v.host].address) if v.host in p.hosts else "")
        if re.fullmatch(r"[0-9.]+", v.member_name):
            err(field, f"{v.member_name} is an address, not a name", "leave member_name out: members are "
                "listed by their localMemberHost address by default")
        elif not v.well_known:
            err(field, "only a well-known member is listed in <members>", "set well_known: true or remove member_name")
        elif low in taken:
            err(field, f"`{v.member_name}` is one of the cluster's own names (the load balancer's or the "
                "database's)", "give the member its own host name")
        elif low in seen and seen[low] != addr:
            err(field, f"`{v.member_name}` names two addresses ({seen[low]} and {addr})",
                "give each member host its own name")
        seen.setdefault(low, addr)
