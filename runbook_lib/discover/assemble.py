"""From what was read to the params tree: each value a ``Found`` (with its
host, file and line, or marked as a guess), in the params model's shape.

One function per params section; each takes the facts and returns a dict
whose leaves are ``Found``. ``yamlout.py`` writes it, ``load.py`` validates it.
"""

from __future__ import annotations

import posixpath
import re
from collections import Counter
from dataclasses import dataclass, field

from ..facts.mysql import parse_jdbc_url
from .dbread import DbFacts
from .elbread import elb_ports, elb_section
from .found import Found, Problem, guess
from .lbread import Nginx, upstream_of
from .nodefiles import NodeFacts
from .reach import NAME_RE, Reached

SKIP_DIRS = {"", "opt", "srv", "home", "usr", "local", "app", "apps", "wso2", "products", "product"}
SECRET_NAMES = {"app": "DB_APP_PASSWORD", "svn": "SVN_PASSWORD", "truststore": "TRUSTSTORE_PASSWORD"}
LOCAL_JNDI = "jdbc/WSO2CarbonDB"
MB_JNDI = "WSO2MBStoreDB"


@dataclass
class Facts:
    """Everything read, by host: the input of assembly and of the consistency report."""

    reached: dict[str, Reached]  # address -> Reached
    nodes: dict[str, NodeFacts] = field(default_factory=dict)  # node name -> facts
    node_host: dict[str, str] = field(default_factory=dict)  # node name -> host name
    lb_address: str | None = None
    nginx: Nginx | None = None
    lb_cert: dict | None = None  # {"fingerprint", "key_type", "days", "where", "dns"}: the first TLS vhost's
    lb_certs: dict[str, dict] = field(default_factory=dict)  # server_name -> the same, every TLS vhost
    truststore: dict[str, str] | None = None  # alias -> fingerprint, on the first node
    db_address: str | None = None
    db: DbFacts | None = None
    svn_roots: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    def host_name(self, address: str) -> str:
        return self.reached[address].name.value

    def address_of(self, host: str) -> str:
        return next(a for a, r in self.reached.items() if r.name.value == host)

    def by_role(self, *roles: str) -> dict[str, NodeFacts]:
        return {n: f for n, f in self.nodes.items() if node_role(f).value in roles}


def node_name(path: str, host: str, taken: set[str]) -> str:
    """The folder above the product folder (``/opt/wso2/manager/wso2ei-6.1.1`` -> manager), else the host's name."""
    parts = path.strip("/").split("/")
    parent = parts[-2].lower() if len(parts) >= 2 else ""
    name = parent if parent not in SKIP_DIRS and NAME_RE.match(parent) else host
    base, i = name, 2
    while name in taken:
        name, i = f"{base[:12]}-{i}", i + 1
    return name


def node_role(f: NodeFacts) -> Found:
    if f.spec.profile == "broker":
        return Found("broker", f.home.host, f.home.path + "/" + f.spec.conf_dir, why="broker profile configured")
    if f.spec.product == "elb":
        return Found("elb", f.home.host, f.home.path, why="WSO2 ELB home")
    sd = f.sub_domain
    if sd and sd.value in ("mgt", "worker"):
        return Found({"mgt": "manager", "worker": "worker"}[sd.value], sd.host, sd.file, sd.line,
                     why=f"subDomain {sd.value}")
    return Found("member", f.home.host, f.files["axis2"].path, why="no subDomain: every node equal (004)")


def majority(values: list[Found]) -> Found | None:
    """The value most nodes have (the first node's place as provenance)."""
    values = [v for v in values if v is not None and v.value not in ("", None)]
    if not values:
        return None
    top, _ = Counter(v.value for v in values).most_common(1)[0]
    return next(v for v in values if v.value == top)


def member_keys(r: Reached | None, address: str) -> set[str]:
    """What other nodes may call a host by in <members>: its address and its names."""
    keys = {address}
    if r is not None:
        keys |= {n for n, a in r.etc_hosts.items() if a == address}
    return keys


def hosts_section(facts: Facts, roles: dict[str, list[str]], user: str, given_addresses: set[str]) -> dict:
    out = {}
    for a, r in facts.reached.items():
        given = a in given_addresses
        entry: dict = {"address": Found(a, why="given on the command line" if given else "the SvnUrl's host")}
        if roles.get(a):
            entry["roles"] = Found(roles[a], why="given on the command line" if given else "serves the SvnUrl")
        if user != "wso2":
            entry["ssh_user"] = Found(user, why="--user")
        out[r.name] = entry  # the key carries its own provenance
    return out


def nodes_section(facts: Facts) -> dict:
    out = {}
    cluster = facts.by_role("manager", "worker", "member")
    brokers = facts.by_role("broker")
    for name, f in facts.nodes.items():
        host = facts.node_host[name]
        address = facts.address_of(host)
        role = node_role(f)
        e: dict = {"host": Found(host, f.home.host, "bin/version.txt", why="the home was found on it"),
                   "role": role, "home": Found(f.home.path, f.home.host, f.home.path + "/bin/version.txt",
                                               why=f.home.line)}
        if role.value == "elb":  # another product than the cluster's
            e["product"] = {"name": Found(f.home.product, f.home.host, f.home.path + "/bin/version.txt", 1),
                            "version": Found(f.home.version, f.home.host, f.home.path + "/bin/version.txt", 1)}
        off = f.carbon("c:Ports/c:Offset")
        if off is not None and off.value.isdigit():
            e["offset"] = Found(int(off.value), off.host, off.file, off.line)
        lmp = f.param("localMemberPort")
        if lmp is not None and lmp.value.isdigit():
            e["local_member_port"] = Found(int(lmp.value), lmp.host, lmp.file, lmp.line)
        lmh = f.param("localMemberHost")
        if lmh is not None and lmh.value not in (address, "") and _is_ip(lmh.value) and \
                not lmh.value.startswith("127."):
            e["local_member_host"] = lmh
        group = brokers if role.value == "broker" else cluster
        keys = {k for r in facts.reached.values() for k in member_keys(r, address)} | ({lmh.value} if lmh else set())
        ports = {lmp.value if lmp else ""}
        if role.value == "elb":  # the members list it at its group_mgt_port (000) or another port (001)
            ports |= {p for a, p in elb_ports(facts) if a == address}
        listed = [(m, name_of) for name_of, other in group.items() for m in other.members()
                  if (name_of != name or role.value == "broker") and m[0].value in keys and m[1].value in ports]
        if listed:
            (h, _), who = listed[0]
            e["well_known"] = Found(True, h.host, h.file, h.line, why=f"{who} lists it as a well-known member")
            by_name = member_name(listed)
            if by_name is not None:
                e["member_name"] = by_name
        if role.value == "broker":
            nid = f.broker("/broker/coordination/nodeID")
            if nid is not None and nid.value and nid.value != "default":
                e["broker_node_id"] = nid
        out[name] = e
    return out


def member_name(listed: list) -> Found | None:
    """The name the other nodes list a well-known member by, when they list it by
    name (kept: nodes.*.member_name); the name most of them use."""
    return majority([h for (h, _), _who in listed if not _is_ip(h.value)])


def _is_ip(v: str) -> bool:
    return bool(re.fullmatch(r"\d+\.\d+\.\d+\.\d+", v))


def cluster_section(facts: Facts) -> dict:
    cluster = facts.by_role("manager", "worker", "member")
    domain = majority([f.param("domain") for f in cluster.values()])
    names: dict = {}
    host_name = majority([f.carbon("c:HostName") for f in cluster.values()])
    if host_name:
        names["cluster"] = host_name
    mgt = majority([f.carbon("c:MgtHostName") for n, f in facts.by_role("manager").items()])
    if mgt is None and facts.nginx:
        others = [s.server_name for s in facts.nginx.servers if s.server_name and
                  (host_name is None or s.server_name.value != host_name.value)]
        mgt = others[0] if others else None
    names["management"] = mgt or guess(f"mgt.{host_name.value if host_name else 'cluster.example.com'}",
                                       "no MgtHostName and no management vhost found")
    if "cluster" not in names:
        names["cluster"] = guess("cluster.example.com", "no carbon.xml HostName on any node")
    urls = [d.url for f in cluster.values() for d in f.datasources() if parse_jdbc_url(d.url.value)]
    alias = majority([Found(parse_jdbc_url(u.value)[0], u.host, u.file, u.line) for u in urls])
    if alias is not None and not _is_ip(alias.value):
        names["database"] = alias
    out: dict = {"domain": domain or guess("wso2.carbon.domain", "no clustering domain found")}
    out["hostnames"] = {k: names[k] for k in ("cluster", "management", "database") if k in names}
    return out


def load_balancer_section(facts: Facts) -> dict:
    if facts.by_role("elb"):
        return elb_section(facts)
    n = facts.nginx
    if facts.lb_address is None or n is None:
        return {"kind": Found("none", why="no --lb given, or no nginx virtual host found on it")}
    out: dict = {"kind": Found("nginx", facts.lb_address, n.conf_dir, why="nginx virtual hosts"),
                 "host": Found(facts.host_name(facts.lb_address), why="--lb")}
    plain = [s for s in n.servers if not s.tls and s.port]
    tls = [s for s in n.servers if s.tls and s.port]
    if plain:
        out["http_port"] = Found(plain[0].port, plain[0].listen[0].host, plain[0].file, plain[0].listen[0].line)
    if tls:
        out["https_port"] = Found(tls[0].port, tls[0].listen[0].host, tls[0].file, tls[0].listen[0].line)
    files = vhost_files(n, cluster_section(facts)["hostnames"])
    if files:
        out["vhost_files"] = files
    affinities = [upstream_of(n, s).affinity for s in n.servers if upstream_of(n, s) and upstream_of(n, s).affinity]
    out["affinity"] = affinities[0] if affinities else Found("none", facts.lb_address, n.conf_dir,
                                                             why="no ip_hash or sticky in any upstream")
    if n.conf_dir != "/etc/nginx/conf.d":
        out["conf_dir"] = Found(n.conf_dir, facts.lb_address, n.conf_dir)
    return out


def vhost_kind(srv, names: dict) -> str:  # noqa: ANN001 - lbread.Server
    """http, https or mgt: which of the runbook's vhosts this server block is."""
    if not srv.tls:
        return "http"
    mgt = names.get("management")
    return "mgt" if mgt is not None and srv.server_name and srv.server_name.value == mgt.value else "https"


def shared_tls_file(n: Nginx, names: dict, file: str) -> bool:
    """FILE holds the two HTTPS vhosts (the cluster's and the console's) and nothing else:
    the one way of several vhosts in one file the runbook keeps (02 writes both)."""
    kinds = [vhost_kind(s, names) for s in n.servers if s.file == file]
    return sorted(kinds) == ["https", "mgt"]


def vhost_files(n: Nginx, names: dict) -> dict:
    """The hand-built vhosts' own file names (kept: load_balancer.vhost_files), for
    files holding one server block each, or the two HTTPS vhosts together; the
    runbook's own names are left out."""
    per_file = Counter(s.file for s in n.servers)
    out = {}
    for srv in n.servers:
        kind = vhost_kind(srv, names)
        base = posixpath.basename(srv.file)
        default = f"{srv.server_name.value if srv.server_name else ''}.{'http' if kind == 'http' else 'https'}.conf"
        shared = per_file[srv.file] > 1 and shared_tls_file(n, names, srv.file)
        if (per_file[srv.file] == 1 and base != default or shared) and kind not in out:
            out[kind] = Found(base, srv.listen[0].host if srv.listen else "", srv.file, srv.line,
                              why=f"the {kind} vhost's own file")
    return out


def _db_of(f: NodeFacts, jndi: str | None) -> Found | None:
    if not jndi:
        return None
    ds = f.datasource_by_jndi(jndi)
    parsed = parse_jdbc_url(ds.url.value) if ds else None
    return Found(parsed[2], ds.url.host, ds.url.file, ds.url.line) if parsed else None


def database_section(facts: Facts, admin: str, admin_secret: str) -> dict | None:
    cluster = {**facts.by_role("manager", "worker", "member"), **facts.by_role("broker")}
    dss = [d for f in cluster.values() for d in f.datasources() if parse_jdbc_url(d.url.value)]
    if not dss:
        return None
    first = dss[0]
    url = majority([d.url for d in dss])
    host, port, _ = parse_jdbc_url(url.value)
    m = re.match(r"jdbc:(\w+):", url.value)
    opts = url.value.split("?", 1)[1] if "?" in url.value else ""
    db_host = facts.host_name(facts.db_address) if facts.db_address in facts.reached else None
    out: dict = {"host": Found(db_host, why="--database") if db_host else guess("db", "no --database given"),
                 "port": Found(port, url.host, url.file, url.line),
                 "admin_user": Found(admin, why="--db-admin"),
                 "admin_password": {"secret": Found(admin_secret, why="--db-admin-secret")},
                 "app_user": majority([d.user for d in dss]) or first.user,
                 "app_password": {"secret": Found(SECRET_NAMES["app"], why="the datasources' password")}}
    if facts.db and facts.db.app_hosts:
        hosts = facts.db.app_hosts
        pick = next((h for h in hosts if "%" in h), hosts[0])
        out["app_user_host"] = facts.db.found(pick, f"mysql.user Host of {out['app_user'].value}")
    else:
        out["app_user_host"] = guess("%", "the database was not read")
    if facts.db and facts.db.charset:
        cs = {"utf8mb3": "utf8"}.get(facts.db.charset, facts.db.charset)
        if cs in ("latin1", "utf8", "utf8mb4"):
            out["charset"] = facts.db.found(cs, "the user store's default charset")
    out["jdbc_options"] = Found(opts, url.host, url.file, url.line)
    if m and m.group(1) in ("mysql", "mariadb"):
        out["url_scheme"] = Found(m.group(1), url.host, url.file, url.line)
    names: dict = {}
    anyf = next(iter(facts.by_role("manager", "worker", "member").values()), None) or next(iter(cluster.values()))
    us = _db_of(anyf, (anyf.user_store_jndi or Found("")).value)
    if us:
        names["user_store"] = us
    shared_cfg = anyf.registry("remoteInstance/dbConfig")
    if shared_cfg:
        jndi = anyf.files["registry"].one(f"/wso2registry/dbConfig[@name='{shared_cfg.value}']/dataSource")
        sr = _db_of(anyf, jndi.value if jndi else None)
        if sr:
            names["shared_registry"] = sr
    local = {}
    for name, f in cluster.items():
        lr = _db_of(f, LOCAL_JNDI)
        if lr:
            local[name] = lr
    if local:
        names["local_registry"] = local
    mb = majority([_db_of(f, MB_JNDI) for f in facts.by_role("broker").values()])
    if mb:
        names["mb_store"] = mb
    out["names"] = names
    return out


def _at(f: Found | None) -> tuple:
    return (f.host, f.file, f.line) if f else ("", "", None)
