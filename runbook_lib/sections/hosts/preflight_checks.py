"""Preflight: before changing anything, prove every host is what the params
say it is. Read-only; each failure comes with the fix in one sentence."""

from __future__ import annotations

import html
import re
import time

from ...configedit import get_values
from ...core.context import Run
from ...core.errors import CommandError, RunbookError
from ...core.step import Check, Checks
from ...core.textview import TextShown, text_table
from ...params.derive import db_address, hosts_entries, well_known_members
from ...remote.host import Host
from ...remote.inventory import fan_out
from ...remote.probe import probe, quote
from .clocks import Reading, clock_command, cluster_skew_checks, reading
from ..nodes.clustering import runs_as_root
from ..securevault.keystore import node_key, store_path
from ..shared.namespaces import CARBON_NS


class Topology(TextShown):
    """The cluster as the params describe it, with derived values."""

    def __init__(self, run: Run) -> None:
        self.run = run
        self._rows: list[tuple[str, ...]] | None = None

    def rows(self) -> list[tuple[str, ...]]:
        """Made once: the text and the HTML both show them (the params do not change)."""
        if self._rows is None:
            self._rows = self._make_rows()
        return self._rows

    def _make_rows(self) -> list[tuple[str, ...]]:
        p = self.run.params
        rows = [("NODE", "ROLE", "HOST", "ADDRESS", "PRODUCT", "OFFSET", "PORTS", "WKA")]
        for v in self.run.views.values():
            ports = " ".join(f"{k}={v.ports[k]}" for k in sorted(v.ports))
            wka = " ".join(f"{a}:{port}" for a, port in well_known_members(p, v.name)) or "-"
            rows.append((v.name, v.node.role + (f"/{v.sub_domain}" if v.sub_domain else ""), v.host_name,
                         v.address, v.product.dist, str(v.offset), ports, wka))
        return rows

    def _repr_html_(self) -> str:
        rows = self.rows()
        head = "".join(f"<th style='text-align:left'>{h}</th>" for h in rows[0])
        body = "".join("<tr>" + "".join(f"<td style='text-align:left'>{html.escape(c)}</td>" for c in r) + "</tr>"
                       for r in rows[1:])  # JupyterLab right-aligns table cells
        extra = "<br>".join(html.escape(line) for line in self.text().splitlines()[-2:])
        return (f"<b>{html.escape(self.text().splitlines()[0])}</b>"
                f"<table class='runbook-topology'><tr>{head}</tr>{body}</table><p>{extra}</p>")

    def text(self) -> str:
        p = self.run.params
        rows = self.rows()
        lines = [f"cluster {p.cluster.domain}: {p.product.dist}, load balancer {p.load_balancer.kind}"]
        lines += text_table(rows)
        lines.append("well-known members (IP:localMemberPort): "
                     + ", ".join(f"{a}:{port}" for a, port in well_known_members(p)))
        lines.append("/etc/hosts on every node: " + ", ".join(f"{n} -> {a}" for a, n in hosts_entries(p)))
        return "\n".join(lines)


def topology(run: Run) -> Topology:
    return Topology(run)


def _questions(run: Run, h: Host, nodes: list) -> dict[str, str]:  # noqa: ANN001
    """Every command preflight asks the host, asked at once (probe.py)."""
    p, cmds = run.params, {"who": "id -un"}
    if p.hosts[h.name].sudo:
        cmds["sudo"] = "sudo -n true"
    if nodes:
        cmds["clock"] = clock_command(h.name)  # the first round of the clock check (clocks.py)
        # JAVA_HOME as the product's start script sees it over this non-interactive session
        cmds["java_home"] = 'printf "%s" "$JAVA_HOME"'
        cmds["java"], cmds["ss"] = '"${JAVA_HOME:-/JAVA_HOME-is-not-set}/bin/java" -version', "ss -Htln"
        cmds.update({f"home {v.name}": quote("test -d %s", v.conf_dir) for v in nodes})
    if p.database and nodes:
        cmds["db"] = quote("timeout 3 bash -c %s", f"</dev/tcp/{db_address(p)}/{p.database.port}")
    return cmds


def _host_checks(run: Run, h: Host, clocks: dict[str, Reading]) -> list[Check]:
    """H's checks; its clock's reading, when it answered, into CLOCKS."""
    p = run.params
    out: list[Check] = []
    spec = p.hosts[h.name]
    nodes = [v for v in run.selected_nodes() if v.host_name == h.name]
    try:
        h.client  # connected first: the clock's bound is the command's round trip, not the handshake's
        t0 = time.monotonic()
        got = probe(h, _questions(run, h, nodes))
        t1 = time.monotonic()
        if nodes and got["clock"].ok:
            try:
                clocks[h.name] = reading(h.name, got["clock"].stdout, t0, t1)
            except ValueError:
                pass  # read again by the clock check, which says what it found
        if not got["who"].ok:
            raise CommandError(got["who"].command, got["who"].rc, got["who"].stdout, h.name)
        who = got["who"].stdout.strip()
        out.append(Check(h.name, "SSH with the known host key", f"{spec.ssh_user}@{h.address}",
                         f"{who}@{h.address}", who == spec.ssh_user))
    except RunbookError as e:
        return [Check(h.name, "SSH with the known host key", f"{spec.ssh_user}@{h.address}",
                      e.message.removeprefix(f"{h.name}: ")[:160], False,
                      e.fix or "start sshd on the host, check its address, and that its key is in ssh.known_hosts")]
    if spec.sudo:
        ok = got["sudo"].ok
        out.append(Check(h.name, "sudo without a password", "allowed", "allowed" if ok else "refused", ok,
                         f"give {spec.ssh_user} passwordless sudo for root-only steps, or set sudo: false"))
    if nodes:
        out += _java_checks(h, nodes, got["java_home"].stdout.strip(), got["java"])
        listening = _ports(got["ss"].stdout)
    for v in nodes:
        out += _node_checks(run, h, v, listening, got[f"home {v.name}"].ok)
    if p.database and nodes:
        addr, port = db_address(p), p.database.port
        ok = got["db"].ok
        out.append(Check(h.name, "database server reachable", f"{addr}:{port} open",
                         "open" if ok else "unreachable", ok,
                         f"start MariaDB/MySQL on {p.database.host} listening on {addr}:{port} and open the firewall"))
    return out


def java_version(text: str) -> str | None:
    """The version in `java -version` output: `openjdk version "1.8.0_372"` -> 1.8.0_372."""
    m = re.search(r'version "([^"]+)"', text)
    return m.group(1) if m else None


def _java_checks(h: Host, nodes: list, java_home: str, java) -> list[Check]:  # noqa: ANN001
    """JAVA_HOME set, its java runnable, and a JDK every product on the host supports
    (the start scripts stop without JAVA_HOME; EI 6.1.1 / Carbon 4.4 run on JDK
    1.7/1.8 only: Java 9+ refuses their -Djava.endorsed.dirs and the JVM never starts)."""
    supported = sorted(set.intersection(*(set(v.spec.java) for v in nodes)))
    products = ", ".join(sorted({f"{v.product.dist}" for v in nodes}))
    want = " or ".join(supported)
    fix_home = (f"install a JDK {want} and set JAVA_HOME for {h.name}'s product user where a non-interactive "
                "SSH session reads it (~/.bashrc before its interactive-only guard, or /etc/environment)")
    out = [Check(h.name, "JAVA_HOME set", "a JDK folder", java_home or "(not set)", bool(java_home),
                 fix_home + ": without it the start script stops with \"Error: JAVA_HOME is not defined correctly.\"")]
    if not java_home:
        return out
    version = java_version(java.stdout) if java.ok else None
    found = version or (java.stdout.strip().splitlines() or ["no $JAVA_HOME/bin/java"])[-1][:60]
    ok = bool(version) and any(version == s or version.startswith(s + ".") for s in supported)
    out.append(Check(h.name, f"JDK at $JAVA_HOME for {products}", f"version {want}", found, ok,
                     f"point JAVA_HOME at a JDK {want}: {products} does not start on {version or 'it'} "
                     "(Java 9+ refuses -Djava.endorsed.dirs, which the start script passes)"))
    return out


def _node_checks(run: Run, h: Host, v, listening: set[int], present: bool) -> list[Check]:  # noqa: ANN001
    out = []
    home = v.node.home
    out.append(Check(h.name, f"{v.name}: product home", f"{v.conf_dir} exists", "exists" if present else "missing",
                     present, f"unpack {v.product.dist} at {home} on {h.name}, or fix nodes.{v.name}.home"))
    if not present:
        return out
    want = v.spec.version_line(v.product.version).removeprefix("WSO2 ")
    vault = run.params.securevault.enabled and v.spec.product != "elb"
    with h.prefetched([v.path(v.spec.version_file), v.file("carbon")] + ([store_path(v)] if vault else [])):
        version_txt = (h.read_file(v.path(v.spec.version_file)) or b"").decode(errors="replace").strip()
        carbon = h.read_file(v.file("carbon"))
        if vault:  # issue 19: a wrong keystore password stops here, before anything is written
            try:
                opened, why = f"opens ({node_key(run, v).rel})", ""
            except RunbookError as e:
                opened, why = f"refused: {e.message}", e.fix
    carbon_version = get_values(carbon, "/c:Server/c:Version", CARBON_NS)[0] if carbon else ""
    found = version_txt or f"carbon.xml Version {carbon_version}"
    ok = (want.lower() in version_txt.lower()) if version_txt else carbon_version == v.product.version
    out.append(Check(h.name, f"{v.name}: expected product", want, found[:60], ok,
                     f"this home holds another product or version: set nodes.{v.name}.product or fix the home"))
    if vault:
        out.append(Check(h.name, f"{v.name}: keystore for Secure Vault", "opens with securevault.keystore_password",
                         opened[:120], not why, why))
    busy = sorted(port for port in v.ports.values() if port in listening)
    own = _own_ports(h, v) if busy else set()
    if busy and set(busy) <= own:  # the node itself is running (08 leaves the cluster up)
        out.append(Check(h.name, f"{v.name}: ports free", " ".join(str(x) for x in sorted(set(v.ports.values()))),
                         f"in use by this node itself (running): {busy}", True))
        return out
    out.append(Check(h.name, f"{v.name}: ports free", " ".join(str(x) for x in sorted(set(v.ports.values()))),
                     "all free" if not busy else f"in use: {busy}", not busy,
                     "stop what listens there, or give the node another offset / local_member_port"))
    return out


def _own_ports(h: Host, v) -> set[int]:  # noqa: ANN001
    """Ports held by the node's own running server (the pid in its wso2carbon.pid)."""
    pid_file = v.path(v.spec.pid_file)
    pid = h.run("cat %s", pid_file).stdout.strip()
    if not pid.isdigit():
        return set()
    ports = set()
    # another user's process shows no pid in `ss -p`: the ELB runs as root (000/001)
    for line in h.run("ss -Htlnp", sudo=runs_as_root(v) and h.can_sudo).stdout.splitlines():
        fields = line.split()
        if f"pid={pid}," in line and len(fields) >= 4 and fields[3].rsplit(":", 1)[-1].isdigit():
            ports.add(int(fields[3].rsplit(":", 1)[1]))
    return ports


def _ports(listing: str) -> set[int]:
    """The listening ports in `ss -Htln` output."""
    ports = set()
    for line in listing.splitlines():
        fields = line.split()
        if len(fields) >= 4 and ":" in fields[3]:
            try:
                ports.add(int(fields[3].rsplit(":", 1)[1]))
            except ValueError:
                pass
    return ports


def host_checks(run: Run) -> Checks:
    """Every selected host checked concurrently; one host's failure never
    hides the others' results."""
    clocks: dict[str, Reading] = {}
    outcomes = fan_out(run.selected_hosts(), lambda h: _host_checks(run, h, clocks))
    checks: list[Check] = []
    for name, o in outcomes.items():
        checks += o.value if o.ok else [Check(name, "preflight", "completes", f"error: {o.error}", False,
                                              "see the error; fix the host and run again")]
    # E17: the node hosts' clocks, host against host (those SSH reached)
    checks += cluster_skew_checks(run, {c.host for c in checks if c.what == "SSH with the known host key" and c.ok},
                                  clocks)
    return Checks("preflight", checks)
