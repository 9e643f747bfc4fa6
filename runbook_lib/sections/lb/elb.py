"""Section 01 for the WSO2 ELB (documents 000 and 001; retired, still
supported, ERRATA E18): loadbalancer.conf, the ELB's own axis2.xml, its
passthru-http.properties socket timeout (001 step 4, E16) and the ELB host's
/etc/hosts. 01 verifies the values read back from the files; 08 starts the ELB.

The wanted values are computed once per file (``*_wanted``) and serve both
the edits and the checks, so what is verified is exactly what was written.
"""

from __future__ import annotations

from types import SimpleNamespace

from ...configedit import (EnsureChild, Remove, RemoveLbBlock, SetAttr, SetLbValue, SetParameter, SetProperty, SetText,
                          read_lbconf)
from ...core.context import Run
from ...params import NodeView, Params, hosts_entries, node_views
from ...params.derive import cluster_agent
from ...products import spec_for
from ...core.step import Check, Checks, Plan
from ..shared.filestep import FileStep, HostsStep, Want, hosts_checks, per_node

# 000: the ELBs' own cluster, not the domain of the cluster they front.
LB_DOMAIN = "wso2.carbon.lb.domain"
C = "/axisconfig/clustering"
PORT = "/axisconfig/transportReceiver[@name='{}']/parameter[@name='port']"

LbWant = tuple[str, tuple[str, ...], str | None]  # (what, path in the file, value; None = absent)
XmlWant = tuple[str, str, list[str]]  # (what, xpath, values)


def elb_nodes(p: Params) -> list[NodeView]:
    return [v for v in node_views(p).values() if v.node.role == "elb"]


def _others(p: Params, v: NodeView) -> list[NodeView]:
    """The other ELBs fronting the same cluster (000: "more than one load balancer")."""
    return [o for o in elb_nodes(p) if o.name != v.name]


def lbconf_wanted(p: Params, v: NodeView, data: bytes) -> tuple[list, list[LbWant]]:
    """000's form for every product: one domain with tenant_range,
    group_mgt_port, mgt/worker host names, and `members` (the other ELBs'
    group management agents) when there is more than one ELB. The service's
    other domains are removed: the shipped samples (AS: wso2.as1..3.domain)
    would claim the same host names for their tenants."""
    lb, names = p.load_balancer, p.cluster.hostnames
    # loadbalancer.conf names a cluster by the service it provides (the product spec's elb_service).
    front = spec_for(p.product.name, p.product.version)
    svc = ("services", front.elb_service or front.product)
    dom = svc + ("domains", p.cluster.domain)
    current = read_lbconf(data)
    for key in svc:
        current = current.get(key, {}) if isinstance(current, dict) else {}
    others = [d for d in (current.get("domains") or {}) if d != p.cluster.domain]
    members = ",".join(f"{o.local_member_host}:{lb.group_mgt_port}" for o in _others(p, v)) or None
    wants: list[LbWant] = [
        (f"{svc[1]} hosts", svc + ("hosts",), names.cluster),
        ("tenant_range", dom + ("tenant_range",), lb.tenant_range),
        ("group_mgt_port", dom + ("group_mgt_port",), str(lb.group_mgt_port)),
        ("members (other ELBs)", dom + ("members",), members),
        ("mgt hosts", dom + ("mgt", "hosts"), names.management),
        ("worker hosts", dom + ("worker", "hosts"), names.cluster),
    ]
    edits: list = [SetLbValue(path, val) if val is not None else RemoveLbBlock(path) for _, path, val in wants]
    edits += [RemoveLbBlock(svc + ("domains", d)) for d in others]
    wants += [(f"{d} removed", svc + ("domains", d), None) for d in others]
    return edits, wants


def axis2_wanted(p: Params, v: NodeView) -> tuple[list, list[XmlWant]]:
    """000: clustering on with the agent the cluster's nodes run (000 sets
    Hazelcast for its ESB 4.x nodes; 001 keeps Tribes for AS 5.2: an ELB on the
    other agent never learns its members, CARBON-RUNTIME.md), wka, the ELBs'
    own domain, this ELB's address (E10: a reachable IP; shipped commented out,
    E11) and port, the other ELBs as members; the http/https receivers on the
    load balancer's ports (80/443)."""
    lb = p.load_balancer
    settings = [("membershipScheme", p.cluster.membership_scheme), ("domain", LB_DOMAIN),
                ("localMemberHost", v.local_member_host), ("localMemberPort", str(v.node.local_member_port))]
    others = _others(p, v)
    agent = cluster_agent(p)
    edits: list = [SetAttr(C, "class", agent), SetAttr(C, "enable", "true")]
    edits += [SetParameter(C, k, val) for k, val in settings]
    wants: list[XmlWant] = [("clustering agent (the members' own)", C + "/@class", [agent]),
                            ("clustering enabled", C + "/@enable", ["true"])]
    wants += [(k, f"{C}/parameter[@name='{k}']", [val]) for k, val in settings]
    if others:
        edits.append(EnsureChild(C, "members", children=[
            ("member", [("hostName", o.local_member_host), ("port", str(o.node.local_member_port))]) for o in others]))
    else:
        edits.append(Remove(C + "/members"))
    wants += [("member hosts (other ELBs)", C + "/members/member/hostName", [o.local_member_host for o in others]),
              ("member ports (other ELBs)", C + "/members/member/port", [str(o.node.local_member_port) for o in others])]
    for scheme, port in (("http", lb.http_port), ("https", lb.https_port)):
        edits.append(SetText(PORT.format(scheme), str(port)))
        wants.append((f"{scheme} transport port", PORT.format(scheme), [str(port)]))
    return edits, wants


SOCKET_TIMEOUT = "http.socket.timeout"


def passthru_wanted(p: Params) -> tuple[list, list[Want]]:
    """001 step 4: the ELB's PassThrough socket timeout, in milliseconds
    (ERRATA E16: 001 calls 6000 "60 seconds"; it is 6 s). Unset in the params:
    the file is left as shipped."""
    ms = p.load_balancer.socket_timeout_ms
    if ms is None:
        return [], []
    return [SetProperty(SOCKET_TIMEOUT, str(ms))], [Want(f"{SOCKET_TIMEOUT} (ms, E16)", SOCKET_TIMEOUT, [str(ms)])]


def _passthru_step_wanted(run: Run, v: NodeView, data: bytes) -> tuple[list, list[Want]]:
    return passthru_wanted(run.params)


def _lbconf_step_wanted(run: Run, v: NodeView, data: bytes) -> tuple[list, list[Want]]:
    edits, wants = lbconf_wanted(run.params, v, data)
    return edits, [Want(what, path, [val] if val is not None else []) for what, path, val in wants]


def _axis2_step_wanted(run: Run, v: NodeView, data: bytes) -> tuple[list, list[Want]]:
    return axis2_wanted(run.params, v)


_FIX = "set {where} in {path}: re-run 01 with apply=True"
_MISSING = "check nodes.{node}.home in the params and that the ELB is unpacked there"
LBCONF_STEP = FileStep("lbconf", "lbconf", _lbconf_step_wanted, ("elb",), empty="(absent)", fix=_FIX,
                       missing_fix=_MISSING)
AXIS2_STEP = FileStep("axis2", "xml", _axis2_step_wanted, ("elb",),
                      fix="set it in {path}: re-run 01 with apply=True", missing_fix=_MISSING)

PASSTHRU_STEP = FileStep("passthru", "properties", _passthru_step_wanted, ("elb",),
                         fix="set http.socket.timeout in {path} (milliseconds, E16): re-run 01 with apply=True",
                         missing_fix=_MISSING)


def _steps(run: Run) -> tuple[FileStep, ...]:
    """The ELB's files this run edits: passthru-http.properties only when the params set its timeout."""
    extra = (PASSTHRU_STEP,) if run.params.load_balancer.socket_timeout_ms is not None else ()
    return (LBCONF_STEP, AXIS2_STEP) + extra


def plan_elb(run: Run) -> Plan:
    """Each selected ELB node's loadbalancer.conf and axis2.xml, and its host's
    /etc/hosts (the same lines every node host gets, so sections converge)."""
    nodes = run.selected_nodes(("elb",))
    ops = [step.operation(run, v) for v in nodes for step in _steps(run)]
    hosts = list(dict.fromkeys(v.host_name for v in nodes))
    ops += [HostsStep(tuple(hosts_entries(run.params))).operation(run, h) for h in hosts]
    extra = ", passthru-http.properties" if PASSTHRU_STEP in _steps(run) else ""
    return Plan(f"01 WSO2 ELB: loadbalancer.conf, axis2.xml{extra}, /etc/hosts", ops)


def _as_run(p: Params) -> Run:
    """What the ELB's wanted values need of a run: its params (the pure checks below take params)."""
    return SimpleNamespace(params=p)  # type: ignore[return-value]


def lbconf_checks(p: Params, v: NodeView, data: bytes, host: str) -> list[Check]:
    return LBCONF_STEP.checks_for(v, _as_run(p), data, host)


def passthru_checks(p: Params, v: NodeView, data: bytes, host: str) -> list[Check]:
    return PASSTHRU_STEP.checks_for(v, _as_run(p), data, host)


def axis2_checks(p: Params, v: NodeView, data: bytes, host: str) -> list[Check]:
    return AXIS2_STEP.checks_for(v, _as_run(p), data, host)


def verify_elb(run: Run) -> Checks:
    """The values read back from each ELB's files, and each name resolving
    on the ELB host as intended (`getent hosts`)."""
    nodes = run.selected_nodes(("elb",))
    checks = per_node(nodes, lambda v: [ch for step in _steps(run) for ch in step.checks(run, v)])
    checks += hosts_checks(run, list(dict.fromkeys(v.host_name for v in nodes)), hosts_entries(run.params),
                           "map {name} to {addr} in /etc/hosts on {host} (re-run 01 with apply=True)")
    return Checks("01 WSO2 ELB files", checks)
