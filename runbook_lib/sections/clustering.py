"""Sections 05 (manager) and 06 (workers): each node's own clustering settings.

axis2.xml (Hazelcast/Tribes clustering, WSDLEPRPrefix), carbon.xml (Offset,
host names, the SVN deployment synchronizer), catalina-server.xml (proxyPort)
and /etc/hosts, for the nodes of the given roles. The wanted values are
computed once per file (``*_wanted``) and serve both the edits and the checks,
so what is verified is exactly what was written.
"""

from __future__ import annotations

import posixpath
from typing import Callable

from ..change import Change
from ..configedit import (Edit, EnsureChild, EnsureProperty, Remove, ReplaceChildren, SetAttr, SetParameter,
                          SetText, Uncomment, get_values)
from ..context import Run
from ..errors import ConfigEditError
from ..operations.files import edit_file
from ..params import NodeView
from ..params import brokers
from ..params.derive import hosts_entries, well_known_members
from ..step import Check, Checks, Operation, Plan
from .common import CARBON_NS, hosts_op

MANAGER = ("manager",)
WORKERS = ("worker", "member")  # 06: workers, plus the members of 004 (brokers: 07)
BROKERS = ("broker",)  # 07: the broker nodes' own cluster (003)
PRODUCT_ROLES = ("manager", "worker", "member")  # nodes with a carbon.xml/catalina the guides edit

AXIS2, CARBON, CATALINA = "axis2/axis2.xml", "carbon.xml", "tomcat/catalina-server.xml"
C = "/axisconfig/clustering"
PROPS = C + "/parameter[@name='properties']"
RECEIVER = "/axisconfig/transportReceiver[@name='{}']"
S = "/c:Server"
DS = S + "/c:DeploymentSynchronizer"

Want = tuple[str, str, list[str]]  # (what, xpath, expected values)
Wanted = tuple[list[Edit], list[Want]]


def _param(name: str) -> str:
    return f"{C}/parameter[@name='{name}']"


# -- what each file should say ------------------------------------------------

def axis2_wanted(run: Run, v: NodeView, data: bytes) -> Wanted:
    """Clustering per 000/002/003/004 with E9-E11: the node's IP (not 127.0.0.1),
    an unshifted localMemberPort, the subDomain of its role, the well-known members."""
    p = run.params
    if v.node.role == "broker":  # their own cluster: own domain, every broker a member, itself included (003)
        domain, members = brokers.domain(p), brokers.members(p)
    else:
        domain, members = p.cluster.domain, well_known_members(p, v.name)
    settings = [("membershipScheme", p.cluster.membership_scheme), ("domain", domain),
                ("localMemberHost", v.local_member_host), ("localMemberPort", str(v.node.local_member_port))]
    edits: list[Edit] = [SetAttr(C, "enable", "true")] + [SetParameter(C, k, val) for k, val in settings]
    wants: list[Want] = [("clustering enabled", C + "/@enable", ["true"])]
    wants += [(k, _param(k), [val]) for k, val in settings]
    role = v.node.role
    if role in ("manager", "worker"):
        edits.append(EnsureProperty(PROPS, "subDomain", v.sub_domain or ""))
        wants.append(("subDomain (E9)", PROPS + "/property[@name='subDomain']/@value", [v.sub_domain or ""]))
    elif role == "member":  # 004: both nodes equal, no subDomain
        edits.append(Remove(PROPS + "/property[@name='subDomain']"))
        wants.append(("no subDomain (all nodes equal)", PROPS + "/property[@name='subDomain']/@value", []))
    if role != "broker" and get_values(data, _param("clusteringPattern")):  # EI 6.x ships it; older files not
        pattern = "nonWorkerManager" if role == "member" else "WorkerManager"
        edits.append(SetParameter(C, "clusteringPattern", pattern))
        wants.append(("clusteringPattern", _param("clusteringPattern"), [pattern]))
    edits.append(ReplaceChildren(C + "/members", [("member", [("hostName", h), ("port", str(port))])
                                                  for h, port in members]))
    wants += [("well-known member hosts", C + "/members/member/hostName", [h for h, _ in members]),
              ("well-known member ports", C + "/members/member/port", [str(port) for _, port in members])]
    if role != "broker":
        for scheme, prefix in wsdl_prefixes(run, data).items():
            rx = RECEIVER.format(scheme)
            edits += [Uncomment(rx, "parameter", {"name": "WSDLEPRPrefix"}),
                      SetText(rx + "/parameter[@name='WSDLEPRPrefix']", prefix)]
            wants.append((f"{scheme} WSDLEPRPrefix", rx + "/parameter[@name='WSDLEPRPrefix']", [prefix]))
    return edits, wants


def wsdl_prefixes(run: Run, data: bytes) -> dict[str, str]:
    """002/004: the PassThrough listeners advertise the load balancer's URL.
    Only files with PassThrough receivers (EI, ESB; not AS) and only behind a load balancer."""
    p = run.params
    if p.load_balancer.kind == "none":
        return {}
    out = {}
    for scheme, port in (("http", p.load_balancer.http_port), ("https", p.load_balancer.https_port)):
        cls = get_values(data, RECEIVER.format(scheme) + "/@class")
        if cls and ".passthru." in cls[0]:
            out[scheme] = f"{scheme}://{p.cluster.hostnames.cluster}:{port}"
    return out


def carbon_wanted(run: Run, v: NodeView, data: bytes) -> Wanted:
    """Offset, HostName (the cluster's name), MgtHostName (manager only), and the
    SVN deployment synchronizer: the manager commits, workers only check out (001, 002)."""
    p = run.params
    edits: list[Edit] = [SetText(S + "/c:Ports/c:Offset", str(v.offset)), Uncomment(S, "HostName"),
                         SetText(S + "/c:HostName", p.cluster.hostnames.cluster)]
    wants: list[Want] = [("port Offset", S + "/c:Ports/c:Offset", [str(v.offset)]),
                         ("HostName", S + "/c:HostName", [p.cluster.hostnames.cluster])]
    if v.node.role == "manager":
        edits += [Uncomment(S, "MgtHostName"), SetText(S + "/c:MgtHostName", p.cluster.hostnames.management)]
        wants.append(("MgtHostName", S + "/c:MgtHostName", [p.cluster.hostnames.management]))
    ds = p.deployment_sync
    if ds.kind == "svn" and v.node.role in ("manager", "worker"):
        fields = [("Enabled", "true"), ("AutoCommit", "true" if v.node.role == "manager" else "false"),
                  ("AutoCheckout", "true"), ("RepositoryType", "svn"), ("SvnUrl", ds.url or "")]
        fields += [("SvnUser", ds.user)] if ds.user else []
        fields += [("SvnPassword", run.secret(ds.password.secret))] if ds.password else []
        fields.append(("SvnUrlAppendTenantId", "true"))
        edits.append(Uncomment(S, "DeploymentSynchronizer"))  # AS ships it commented out
        edits += [EnsureChild(DS, tag, text=val) for tag, val in fields]
        wants += [(f"DeploymentSynchronizer {tag}", f"{DS}/c:{tag}", [val]) for tag, val in fields]
    return edits, wants


def catalina_wanted(run: Run, v: NodeView, data: bytes) -> Wanted:
    """E11: proxyPort exists only in comments; add it so the console's URLs name
    the load balancer's ports (from the params: 80/443 in 002/004, 8280/8243 in 001)."""
    lb = run.params.load_balancer
    if lb.kind == "none":
        return [], []
    ports = [("9763", lb.http_port), ("9443", lb.https_port)]
    edits: list[Edit] = [SetAttr(f"//Connector[@port='{c}']", "proxyPort", str(px)) for c, px in ports]
    wants = [(f"proxyPort of the {c} connector", f"//Connector[@port='{c}']/@proxyPort", [str(px)])
             for c, px in ports]
    return edits, wants


FILES: dict[str, tuple[str, Callable[[Run, NodeView, bytes], Wanted], dict | None, tuple[str, ...]]] = {
    "axis2": (AXIS2, axis2_wanted, None, PRODUCT_ROLES + ("broker",)),
    "carbon": (CARBON, carbon_wanted, CARBON_NS, PRODUCT_ROLES),
    "catalina": (CATALINA, catalina_wanted, None, PRODUCT_ROLES),
}


# -- plans ------------------------------------------------------------------

def _nodes(run: Run, roles: tuple[str, ...], kind: str) -> list[NodeView]:
    return [v for v in run.selected_nodes(roles) if v.node.role in FILES[kind][3]]


def _edit_op(run: Run, v: NodeView, kind: str) -> Operation:
    rel, wanted, ns, _ = FILES[kind]
    h, path = run.host(v.host_name), v.conf(rel)

    def fn(dry_run: bool) -> Change:
        data = h.read_file(path)
        if data is None:
            raise ConfigEditError(f"{h.name}:{path} does not exist. Fix: check nodes.{v.name}.home in the params "
                                  "and that the product is unpacked there")
        edits, _ = wanted(run, v, data)
        return edit_file(h, path, "xml", edits, namespaces=ns, dry_run=dry_run)

    return Operation(f"{v.host_name}:{path}", fn)


def _title(roles: tuple[str, ...], what: str, where: str = "on the", after: str = "") -> str:
    section = {MANAGER: "05 ", WORKERS: "06 ", BROKERS: "07 "}.get(roles, "")
    return f"{section}{what} {where} {'/'.join(roles)} nodes{after}"


def plan_file(run: Run, kind: str, roles: tuple[str, ...]) -> Plan:
    """One edit of FILE ('axis2', 'carbon', 'catalina') per selected node of ROLES."""
    rel = FILES[kind][0].split("/")[-1]
    return Plan(_title(roles, rel), [_edit_op(run, v, kind) for v in _nodes(run, roles, kind)])


def plan_axis2(run: Run, roles: tuple[str, ...]) -> Plan:
    return plan_file(run, "axis2", roles)


def plan_carbon(run: Run, roles: tuple[str, ...]) -> Plan:
    return plan_file(run, "carbon", roles)


def plan_catalina(run: Run, roles: tuple[str, ...]) -> Plan:
    return plan_file(run, "catalina", roles)


def node_hosts(run: Run, roles: tuple[str, ...]) -> list[str]:
    """Each host of the selected nodes once (manager and worker1 share node206)."""
    return list(dict.fromkeys(v.host_name for v in run.selected_nodes(roles)))


def plan_hosts(run: Run, roles: tuple[str, ...]) -> Plan:
    """The same /etc/hosts lines on every node host, so 04, 05 and 06 converge."""
    entries = hosts_entries(run.params)
    ops = [hosts_op(run, h, entries) for h in node_hosts(run, roles)]
    return Plan(_title(roles, "/etc/hosts", "on the hosts of the"), ops)


# -- verification -----------------------------------------------------------

def _file_checks(run: Run, v: NodeView, kind: str) -> list[Check]:
    rel, wanted, ns, _ = FILES[kind]
    path = v.conf(rel)
    data = run.host(v.host_name).read_file(path)
    if data is None:
        return [Check(v.host_name, f"{v.name}: {rel} present", path, "(file missing)", False,
                      f"check nodes.{v.name}.home in the params and that the product is unpacked there")]
    out = []
    for what, xpath, expected in wanted(run, v, data)[1]:
        found = get_values(data, xpath, ns, name=path)
        out.append(Check(v.host_name, f"{v.name}: {rel.split('/')[-1]} {what}", " | ".join(expected) or "(none)",
                         " | ".join(found) or "(none)", found == expected,
                         f"set it in {path}: re-run this notebook with apply=True"))
    return out


def verify_files(run: Run, roles: tuple[str, ...], kinds: tuple[str, ...] = ("axis2", "carbon", "catalina")) -> Checks:
    """Every value read back from the files on the hosts."""
    checks = [c for kind in kinds for v in _nodes(run, roles, kind) for c in _file_checks(run, v, kind)]
    files = ", ".join(FILES[k][0].split("/")[-1] for k in kinds)
    return Checks(_title(roles, files), checks)


def verify_axis2(run: Run, roles: tuple[str, ...]) -> Checks:
    return verify_files(run, roles, ("axis2",))


def verify_carbon(run: Run, roles: tuple[str, ...]) -> Checks:
    return verify_files(run, roles, ("carbon",))


def verify_catalina(run: Run, roles: tuple[str, ...]) -> Checks:
    return verify_files(run, roles, ("catalina",))


def verify_hosts(run: Run, roles: tuple[str, ...]) -> Checks:
    """Each name resolves on each node host as intended (`getent hosts`, so
    nsswitch is honoured, not just the file's text)."""
    checks = []
    for host in node_hosts(run, roles):
        h = run.host(host)
        for addr, name in hosts_entries(run.params):
            res = h.run("getent hosts %s", name)
            found = res.stdout.split()[0] if res.ok and res.stdout.split() else "(does not resolve)"
            checks.append(Check(host, f"{name} resolves", addr, found, found == addr,
                                f"map {name} to {addr} in /etc/hosts on {host} (re-run with apply=True)"))
    return Checks(_title(roles, "/etc/hosts", "on the hosts of the"), checks)


def start_command(v: NodeView) -> str:
    """How the documents start the node: integrator.sh/broker.sh on EI 6.x (004),
    wso2server.sh on Carbon 4.x (000/001); -DworkerNode=true on workers only.
    No -Dsetup on the manager: the database scripts are run explicitly (E6)."""
    if v.product.name == "ei":
        script = "broker.sh" if v.node.role == "broker" else "integrator.sh"
    else:
        script = "wso2server.sh"
    flags = " -DworkerNode=true" if v.node.role == "worker" else ""
    return f"sh {posixpath.join(v.node.home, 'bin', script)}{flags}"


def start_commands(run: Run, roles: tuple[str, ...]) -> Checks:
    """Recorded, not run (the lab has no WSO2 server): the command, and that its script exists."""
    checks = []
    for v in run.selected_nodes(roles):
        script = start_command(v).split()[1]
        ok = run.host(v.host_name).run("test -f %s", script).ok
        checks.append(Check(v.host_name, f"{v.name}: start command", start_command(v),
                            "script present" if ok else "script missing", ok,
                            f"unpack the product into {v.node.home} (bin/ is missing its start script)"))
    return Checks(_title(roles, "start commands", "of the", " (recorded, not run)"), checks)

