"""Section 01 for the WSO2 ELB (documents 000 and 001; retired, still
supported, ERRATA E18): loadbalancer.conf, the ELB's own axis2.xml and the
ELB host's /etc/hosts. Files only: the ELB cannot run in the lab, so
verification reads the values back from the files.

The wanted values are computed once per file (``*_wanted``) and serve both
the edits and the checks, so what is verified is exactly what was written.
"""

from __future__ import annotations

from ..configedit import (EnsureChild, Remove, RemoveLbBlock, SetAttr, SetLbValue, SetParameter, SetText,
                          get_values, read_lbconf)
from ..context import Run
from ..errors import ConfigEditError
from ..operations.files import edit_file
from ..params import NodeView, Params, hosts_entries, node_views
from ..products import spec_for
from ..step import Check, Checks, Operation, Plan
from .common import hosts_op

LBCONF, AXIS2 = "loadbalancer.conf", "axis2/axis2.xml"
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
    """000: clustering on, wka, the ELBs' own domain, this ELB's address (E10:
    a reachable IP; shipped commented out, E11) and port, the other ELBs as
    members; the http/https receivers on the load balancer's ports (80/443)."""
    lb = p.load_balancer
    settings = [("membershipScheme", p.cluster.membership_scheme), ("domain", LB_DOMAIN),
                ("localMemberHost", v.local_member_host), ("localMemberPort", str(v.node.local_member_port))]
    others = _others(p, v)
    edits: list = [SetAttr(C, "enable", "true")] + [SetParameter(C, k, val) for k, val in settings]
    wants: list[XmlWant] = [("clustering enabled", C + "/@enable", ["true"])]
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


def _lbconf_op(run: Run, v: NodeView) -> Operation:
    h, path = run.host(v.host_name), v.conf(LBCONF)

    def fn(dry_run: bool):  # noqa: ANN202 - returns a Change
        data = h.read_file(path)
        if data is None:
            raise ConfigEditError(f"{h.name}:{path} does not exist", fix=f"check nodes.{v.name}.home in the params "
                                  "and that the ELB is unpacked there")
        return edit_file(h, path, "lbconf", lbconf_wanted(run.params, v, data)[0], dry_run=dry_run)
    return Operation(f"{v.host_name}:{path}", fn)


def _axis2_op(run: Run, v: NodeView) -> Operation:
    h, path = run.host(v.host_name), v.conf(AXIS2)
    edits = axis2_wanted(run.params, v)[0]
    return Operation(f"{v.host_name}:{path}", lambda dry: edit_file(h, path, "xml", edits, dry_run=dry))


def plan_elb(run: Run) -> Plan:
    """Each selected ELB node's loadbalancer.conf and axis2.xml, and its host's
    /etc/hosts (the same lines every node host gets, so sections converge)."""
    nodes = run.selected_nodes(("elb",))
    ops = [op for v in nodes for op in (_lbconf_op(run, v), _axis2_op(run, v))]
    hosts = list(dict.fromkeys(v.host_name for v in nodes))
    ops += [hosts_op(run, h, hosts_entries(run.params)) for h in hosts]
    return Plan("01 WSO2 ELB: loadbalancer.conf, axis2.xml, /etc/hosts", ops)


def _lbvalue(tree: dict, path: tuple[str, ...]) -> str | None:
    for key in path:
        if not isinstance(tree, dict) or key not in tree:
            return None
        tree = tree[key]
    return tree if isinstance(tree, str) else "(a block)"


def lbconf_checks(p: Params, v: NodeView, data: bytes, host: str) -> list[Check]:
    tree = read_lbconf(data)
    out = []
    for what, path, want in lbconf_wanted(p, v, data)[1]:
        found = _lbvalue(tree, path)
        out.append(Check(host, f"{v.name}: loadbalancer.conf {what}", want or "(absent)", found or "(absent)",
                         found == want, f"set {'/'.join(path)} in {v.conf(LBCONF)}: re-run 01 with apply=True"))
    return out


def axis2_checks(p: Params, v: NodeView, data: bytes, host: str) -> list[Check]:
    out = []
    for what, xpath, want in axis2_wanted(p, v)[1]:
        found = get_values(data, xpath, name=v.conf(AXIS2))
        out.append(Check(host, f"{v.name}: axis2.xml {what}", " | ".join(want) or "(none)",
                         " | ".join(found) or "(none)", found == want,
                         f"set it in {v.conf(AXIS2)}: re-run 01 with apply=True"))
    return out


def verify_elb(run: Run) -> Checks:
    """The values read back from each ELB's files, and each name resolving
    on the ELB host as intended (`getent hosts`)."""
    p, checks = run.params, []
    for v in run.selected_nodes(("elb",)):
        h = run.host(v.host_name)
        for rel, fn in ((LBCONF, lbconf_checks), (AXIS2, axis2_checks)):
            data = h.read_file(v.conf(rel))
            checks += fn(p, v, data, h.name) if data is not None else [
                Check(h.name, f"{v.name}: {rel} present", v.conf(rel), "(file missing)", False,
                      f"check nodes.{v.name}.home in the params and that the ELB is unpacked there")]
    for host in dict.fromkeys(v.host_name for v in run.selected_nodes(("elb",))):
        h = run.host(host)
        for addr, name in hosts_entries(p):
            res = h.run("getent hosts %s", name)
            found = res.stdout.split()[0] if res.ok and res.stdout.split() else "(does not resolve)"
            checks.append(Check(host, f"{name} resolves", addr, found, found == addr,
                                f"map {name} to {addr} in /etc/hosts on {host} (re-run 01 with apply=True)"))
    return Checks("01 WSO2 ELB files", checks)
