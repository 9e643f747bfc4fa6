"""Sections 05 (manager) and 06 (workers): each node's own clustering settings.

axis2.xml (Hazelcast/Tribes clustering, WSDLEPRPrefix), carbon.xml (Offset,
host names, the SVN deployment synchronizer), catalina-server.xml (proxyPort)
and /etc/hosts, for the nodes of the given roles. The wanted values are
computed once per file (``*_wanted``) and serve both the edits and the checks,
so what is verified is exactly what was written.
"""

from __future__ import annotations

import posixpath

from ...configedit import (Edit, EnsureChild, EnsureProperty, Remove, ReplaceChildren, SetAttr, SetParameter,
                          SetText, Uncomment, get_values)
from ...core.context import Run
from ...core.step import Check, Checks, Plan
from ...params import NodeView
from ...params import brokers
from ...params.derive import hosts_entries, well_known_members
from ...products import CARBON_FILES
from ..securevault.aliases import SVN_ALIAS
from ..securevault.xmlns import ALIAS_ATTR, PLACEHOLDER, DeclareSvns
from ..shared.namespaces import CARBON_NS
from ..shared.filestep import FileStep, HostsStep, Want, hosts_checks, per_node

MANAGER = ("manager",)
WORKERS = ("worker", "member")  # 06: workers, plus the members of 004 (brokers: 07)
BROKERS = ("broker",)  # 07: the broker nodes' own cluster (003)
PRODUCT_ROLES = ("manager", "worker", "member")  # nodes with a carbon.xml/catalina the guides edit

# The files' paths inside the conf directory (the same in every product: products.py).
AXIS2, CARBON, CATALINA = (CARBON_FILES[k].rel for k in ("axis2", "carbon", "catalina"))
C = "/axisconfig/clustering"
PROPS = C + "/parameter[@name='properties']"
RECEIVER = "/axisconfig/transportReceiver[@name='{}']"
S = "/c:Server"
DS = S + "/c:DeploymentSynchronizer"

Wanted = tuple[list[Edit], list[Want]]  # Want: (what, xpath, expected values)


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
    # the node's own address is edited last: up to it every node's file takes the same edits,
    # done once for all (configedit.xml._STEPS); where the element is there, the order changes nothing
    edits: list[Edit] = [SetAttr(C, "enable", "true")] + [SetParameter(C, k, val) for k, val in settings
                                                          if k != "localMemberHost"]
    wants: list[Want] = [("clustering enabled", C + "/@enable", ["true"])]
    wants += [(k, _param(k), [val]) for k, val in settings]
    role = v.node.role
    if role in ("manager", "worker"):
        edits.append(EnsureProperty(PROPS, "subDomain", v.sub_domain or ""))
        wants.append(("subDomain (E9)", PROPS + "/property[@name='subDomain']/@value", [v.sub_domain or ""]))
    if role == "manager":
        for port, target in elb_port_mappings(run, v).items():
            name = f"port.mapping.{port}"
            edits.append(EnsureProperty(PROPS, name, str(target)))
            wants.append((f"{name} (the ELB's port to this node's console)",
                          PROPS + f"/property[@name='{name}']/@value", [str(target)]))
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
    edits.append(SetParameter(C, "localMemberHost", v.local_member_host))
    return edits, wants


def elb_port_mappings(run: Run, v: NodeView) -> dict[int, int]:
    """Behind the WSO2 ELB, a member is reached on the ports it advertises:
    its PassThrough ports where it has them (ESB). The management console
    lives on the servlet ports, so the manager maps the ELB's ports to them
    (`port.mapping.<ELB port>` = <this node's port>). 000 shows
    `port.mapping.8290` = 9763, which matches neither its ELB's ports (80/443)
    nor its manager's (Offset 1: 9764/9444); the mapping the ELB can use is
    from its own listening ports to the manager's effective servlet ports."""
    lb = run.params.load_balancer
    if lb.kind != "elb" or not v.spec.has_passthrough:
        return {}  # AS members advertise their servlet ports already (001)
    return {lb.http_port: v.ports["http"], lb.https_port: v.ports["https"]}


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
        vault = p.securevault.enabled and ds.password  # issue 19: `password` and its alias, cipher text in 04
        fields += [("SvnPassword", PLACEHOLDER if vault else run.secret(ds.password.secret))] if ds.password else []
        fields.append(("SvnUrlAppendTenantId", "true"))
        edits.append(Uncomment(S, "DeploymentSynchronizer"))  # AS ships it commented out
        edits += [DeclareSvns()] if vault else []
        edits += [EnsureChild(DS, tag, text=val, attrs={ALIAS_ATTR: SVN_ALIAS} if vault and tag == "SvnPassword"
                              else {}) for tag, val in fields]
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


FILES: dict[str, FileStep] = {
    "axis2": FileStep("axis2", "xml", axis2_wanted, PRODUCT_ROLES + ("broker",)),
    "carbon": FileStep("carbon", "xml", carbon_wanted, PRODUCT_ROLES, CARBON_NS),
    "catalina": FileStep("catalina", "xml", catalina_wanted, PRODUCT_ROLES),
}


# -- plans ------------------------------------------------------------------

def _nodes(run: Run, roles: tuple[str, ...], kind: str) -> list[NodeView]:
    return [v for v in run.selected_nodes(roles) if FILES[kind].applies_to(v)]


def _title(roles: tuple[str, ...], what: str, where: str = "on the", after: str = "") -> str:
    section = {MANAGER: "05 ", WORKERS: "06 ", BROKERS: "07 "}.get(roles, "")
    return f"{section}{what} {where} {'/'.join(roles)} nodes{after}"


def plan_file(run: Run, kind: str, roles: tuple[str, ...]) -> Plan:
    """One edit of FILE ('axis2', 'carbon', 'catalina') per selected node of ROLES."""
    step = FILES[kind]
    return Plan(_title(roles, _label(kind)), [step.operation(run, v) for v in _nodes(run, roles, kind)])


def _label(kind: str) -> str:
    """The file's name as titles show it (the same in every product's spec)."""
    return posixpath.basename(CARBON_FILES[kind].rel)


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
    ops = [HostsStep(tuple(entries)).operation(run, h) for h in node_hosts(run, roles)]
    return Plan(_title(roles, "/etc/hosts", "on the hosts of the"), ops)


# -- verification -----------------------------------------------------------

def verify_files(run: Run, roles: tuple[str, ...], kinds: tuple[str, ...] = ("axis2", "carbon", "catalina")) -> Checks:
    """Every value read back from the files on the hosts."""
    checks = [c for kind in kinds for c in per_node(_nodes(run, roles, kind), lambda v, k=kind: FILES[k].checks(run, v))]
    return Checks(_title(roles, ", ".join(_label(k) for k in kinds)), checks)


def verify_axis2(run: Run, roles: tuple[str, ...]) -> Checks:
    return verify_files(run, roles, ("axis2",))


def verify_carbon(run: Run, roles: tuple[str, ...]) -> Checks:
    return verify_files(run, roles, ("carbon",))


def verify_catalina(run: Run, roles: tuple[str, ...]) -> Checks:
    return verify_files(run, roles, ("catalina",))


def verify_hosts(run: Run, roles: tuple[str, ...]) -> Checks:
    """Each name resolves on each node host as intended (`getent hosts`, so
    nsswitch is honoured, not just the file's text)."""
    checks = hosts_checks(run, node_hosts(run, roles), hosts_entries(run.params),
                          "map {name} to {addr} in /etc/hosts on {host} (re-run with apply=True)")
    return Checks(_title(roles, "/etc/hosts", "on the hosts of the"), checks)


def start_command(v: NodeView) -> str:
    """How the documents start the node (the spec's script: integrator.sh/broker.sh
    on EI 6.x (004), wso2server.sh on Carbon 4.x (000/001)); the worker flag on
    workers only. No -Dsetup on the manager: the database scripts are run explicitly (E6)."""
    return script_command(v)


# 000 and 001 start the WSO2 ELB as root (`sudo -E sh <ELB_HOME>/bin/wso2server.sh`): it binds the load
# balancer's ports (000: 80 and 443), which only root may bind below 1024 on a real host. -E keeps the
# product user's JAVA_HOME.
AS_ROOT = "sudo -E "


def runs_as_root(v: NodeView) -> bool:
    """The node's server runs as root (the ELB: see AS_ROOT), so what shows its process
    (`ss -p`, its files) needs root too."""
    return v.node.role == "elb"


def script_command(v: NodeView, action: str = "", flags: bool = True) -> str:
    """`sh <script> [ACTION] [worker flag]`, the ELB's through `sudo -E` as 000/001 run it."""
    sh, script, *rest = v.spec.start_command(v.node.home, worker=v.node.role == "worker").split()
    cmd = " ".join([sh, script, *([action] if action else []), *(rest if flags else [])])
    return AS_ROOT + cmd if runs_as_root(v) else cmd


def start_commands(run: Run, roles: tuple[str, ...]) -> Checks:
    """Recorded, not run (the lab has no WSO2 server): the command, and that its script exists."""
    def one(v: NodeView) -> list[Check]:
        script = posixpath.join(v.node.home, v.spec.start_script)
        ok = run.host(v.host_name).file(script).is_file
        return [Check(v.host_name, f"{v.name}: start command", start_command(v),
                      "script present" if ok else "script missing", ok,
                      f"unpack the product into {v.node.home} (bin/ is missing its start script)")]
    checks = per_node(run.selected_nodes(roles), one)
    return Checks(_title(roles, "start commands", "of the", " (recorded, not run)"), checks)

