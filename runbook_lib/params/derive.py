"""Values computed from the params, in one place.

Every notebook and the lab read effective ports, well-known members, JDBC URLs
and /etc/hosts lines from here, so no cell re-derives them differently.
"""

from __future__ import annotations

from dataclasses import dataclass
from posixpath import join

from ..products import BROKER_PORTS as _BROKER, PASSTHROUGH_PORTS as _PT, SERVLET_PORTS, ProductSpec, \
    UnsupportedProduct, spec_for, spec_for_role, specs_for_role
from .model import Node, Params, Product

# Kept for callers of the old names: the values live in products.py.
CARBON_PORTS, PASSTHROUGH_PORTS, BROKER_PORTS = SERVLET_PORTS, _PT, _BROKER


@dataclass(frozen=True)
class Layout:
    """Where a product keeps things, relative to the product home."""

    carbon_home: str
    conf: str
    lib: str
    dbscripts: str
    security: str


def node_spec(product: Product, role: str) -> ProductSpec:
    """The product spec a node of ROLE runs (the EI broker profile for brokers).
    A role its line has no profile for (a broker on ESB) gets the line's default
    spec here: checks.py reports that combination as an error."""
    try:
        return spec_for_role(product.name, product.version, role)
    except UnsupportedProduct:
        return spec_for(product.name, product.version)


def layout(product: Product, role: str) -> Layout:
    s = node_spec(product, role)
    return Layout(s.carbon_home, s.conf_dir, s.lib_dir, s.dbscripts_dir, s.security_dir)


@dataclass(frozen=True)
class NodeView:
    """A node with everything derived: what the notebooks actually use."""

    name: str
    node: Node
    product: Product
    host_name: str
    address: str
    offset: int
    ports: dict[str, int]
    sub_domain: str | None
    local_member_host: str
    layout: Layout
    spec: ProductSpec

    def file(self, key: str) -> str:
        """The absolute path of one of the spec's config files (``axis2``, ``carbon``...)."""
        return self.path(self.spec.conf(key))

    def path(self, rel: str) -> str:
        """An absolute path inside this node's product home."""
        return join(self.node.home, rel) if rel not in ("", ".") else self.node.home

    @property
    def conf_dir(self) -> str:
        """The absolute path of the product's configuration folder (its files: ``file(key)``)."""
        return self.path(self.layout.conf)


def node_offset(node: Node, product: Product | None = None) -> int:
    """The node's Offset: as given, else the one its profile ships (E12: the broker's 3)."""
    if node.offset is not None:
        return node.offset
    if product is None:  # every product serving this role ships the same Offset
        specs = specs_for_role(node.role)
        return specs[0].default_offset if specs else 0
    return node_spec(product, node.role).default_offset


def effective_ports(product: Product, node: Node) -> dict[str, int]:
    """Listening ports after the Offset; localMemberPort is NOT shifted (E10)."""
    off = node_offset(node, product)
    ports = {k: v + off for k, v in node_spec(product, node.role).ports.items()}
    ports["local_member"] = node.local_member_port
    return ports


def node_ports(p: Params, node: Node) -> dict[str, int]:
    """The ports a node listens on. The WSO2 ELB's PassThrough receivers are
    the load balancer's public ports (000 moves them to 80/443; 001 keeps
    8280/8243), shifted by its Offset like every axis2 transport port."""
    ports = effective_ports(p.node_product(node), node)
    if node.role == "broker" and p.brokers is not None:  # broker.xml thriftServerPort + the Offset (E12)
        ports["thrift"] = p.brokers.thrift_port + node_offset(node)
    if node.role == "elb":
        off = node_offset(node, p.node_product(node))
        ports["pt_http"] = p.load_balancer.http_port + off
        ports["pt_https"] = p.load_balancer.https_port + off
    return ports


def sub_domain(node: Node) -> str | None:
    """E9: a worker's subDomain is ``worker``, a manager's is ``mgt``."""
    if node.sub_domain:
        return node.sub_domain
    return {"manager": "mgt", "worker": "worker"}.get(node.role)


_VIEWS: list[tuple[Params, dict[str, NodeView]]] = []  # the last few params' views (params are frozen)
_VIEWS_KEPT = 4


def node_views(p: Params) -> dict[str, NodeView]:
    """Every node's derived values, made once per params object: well_known_members asks
    for them per node, which at 129 nodes made a table of the members cost n x n views."""
    for kept, views in _VIEWS:
        if kept is p:
            return dict(views)
    views = _make_views(p)
    _VIEWS.append((p, views))  # holding P keeps its id from being reused while it is here
    del _VIEWS[:-_VIEWS_KEPT]
    return dict(views)


def _make_views(p: Params) -> dict[str, NodeView]:
    out = {}
    for name, n in p.nodes.items():
        host = p.hosts[n.host]
        prod = p.node_product(n)
        out[name] = NodeView(
            name=name, node=n, product=prod, host_name=n.host, address=str(host.address),
            offset=node_offset(n, prod), ports=node_ports(p, n), sub_domain=sub_domain(n),
            local_member_host=n.local_member_host or str(host.address),
            layout=layout(prod, n.role), spec=node_spec(prod, n.role),
        )
    return out


def cluster_nodes(p: Params) -> list[str]:
    """Nodes that join the product cluster (the ELB clusters with its own domain)."""
    return [n for n, v in p.nodes.items() if v.role in ("manager", "worker", "member")]


def cluster_agent(p: Params) -> str:
    """The clustering agent class the cluster's nodes ship (05/06 leave it as
    shipped): the ELB in front of them must run the same one, since a Tribes
    and a Hazelcast member never see each other (CARBON-RUNTIME.md)."""
    return spec_for(p.product.name, p.product.version).clustering_agent(p.product.version)


def well_known_members(p: Params, for_node: str | None = None) -> list[tuple[str, int]]:
    """(IP, localMemberPort) of every well-known member, the node itself excluded;
    a broker's: every well-known broker, itself included (003, params/brokers.py)."""
    views = node_views(p)
    broker = for_node is not None and p.nodes[for_node].role == "broker"
    group = [n for n, v in p.nodes.items() if v.role == "broker"] if broker else cluster_nodes(p)
    members = [(member_address(views[n]), views[n].node.local_member_port)
               for n in group if p.nodes[n].well_known and (broker or n != for_node)]
    if p.load_balancer.kind == "elb" and (for_node is None or p.nodes[for_node].role in ("manager", "worker", "member")):
        # The ELB learns the members that list it (000: "you add the ELB and ESB manager
        # node to the well-known members", at its group_mgt_port; 001 step 5: at 4000).
        port = p.load_balancer.registration_port or p.load_balancer.group_mgt_port
        members += [(member_address(views[n]), port) for n, v in p.nodes.items() if v.role == "elb" and v.well_known]
    return members


def member_address(v: NodeView) -> str:
    """What the other nodes' <members> call node V: its member_name (kept from a
    cluster built by hand), else its localMemberHost IP."""
    return v.node.member_name or v.local_member_host


def member_name_entries(p: Params) -> list[tuple[str, str]]:
    """(address, name) for each well-known member listed by name: /etc/hosts on every
    node host resolves it to the member's localMemberHost."""
    views = node_views(p)
    out = [(views[n].local_member_host, v.member_name) for n, v in p.nodes.items() if v.member_name]
    return list(dict.fromkeys(out))


def db_address(p: Params) -> str:
    assert p.database is not None
    return str(p.hosts[p.database.host].address)


def jdbc_url(p: Params, database: str) -> str:
    """E3: MySQL options, not H2's; the host is the alias when one is given."""
    assert p.database is not None
    host = p.cluster.hostnames.database or db_address(p)
    opts = p.database.jdbc_options
    return f"jdbc:{p.database.url_scheme}://{host}:{p.database.port}/{database}" + (f"?{opts}" if opts else "")


def registry_cache_id(p: Params) -> str:
    """E8: the registry cacheId is `<db user>@<jdbc url>` of the shared registry
    database, exactly as in the datasource."""
    assert p.database is not None
    return f"{p.database.app_user}@{jdbc_url(p, p.database.names.shared_registry)}"


def local_registry_db(p: Params, node: str) -> str | None:
    if p.database is None:
        return None
    return p.database.names.local_registry.get(node)


def all_databases(p: Params) -> list[str]:
    """Every database the cluster needs, in a stable order."""
    if p.database is None:
        return []
    names = p.database.names
    dbs = [names.user_store, names.shared_registry]
    dbs += [names.local_registry[n] for n in sorted(names.local_registry)]
    if names.mb_store:
        dbs.append(names.mb_store)
    seen: list[str] = []
    for d in dbs:
        if d not in seen:
            seen.append(d)
    return seen


def hosts_entries(p: Params, host_name: str | None = None) -> list[tuple[str, str]]:
    """The (address, name) lines every node's /etc/hosts needs: the public
    names point at the load balancer, the database alias at the database."""
    entries: list[tuple[str, str]] = []
    lb_addr = None
    if p.load_balancer.kind == "nginx" and p.load_balancer.host:
        lb_addr = str(p.hosts[p.load_balancer.host].address)
    elif p.load_balancer.kind == "elb":
        elb = [v for v in p.nodes.values() if v.role == "elb"]
        if elb:
            lb_addr = str(p.hosts[elb[0].host].address)
    if lb_addr:
        entries.append((lb_addr, p.cluster.hostnames.cluster))
        entries.append((lb_addr, p.cluster.hostnames.management))
    if p.database and p.cluster.hostnames.database:
        entries.append((db_address(p), p.cluster.hostnames.database))
    entries += member_name_entries(p)  # before the extras: sanity.py takes the extras from the end
    for extra in p.cluster.extra_hosts:
        entries.append((str(extra.address), extra.name))
    return entries


def secret_names(p: Params) -> list[str]:
    """Every secret the params refer to, for resolution and masking."""
    refs = []
    if p.database:
        refs += [p.database.admin_password.secret, p.database.app_password.secret]
    if p.deployment_sync.password:
        refs.append(p.deployment_sync.password.secret)
    if p.certificates:
        refs.append(p.certificates.truststore_password.secret)
    sv = p.securevault
    refs += [r.secret for r in (sv.keystore_password, sv.key_password) if r is not None]
    return sorted(set(refs))
