"""04 registry mount: point every node at the cluster's databases.

master-datasources.xml gets the user store, the shared registry, the node's own
local registry and, on broker nodes, the message store (documents 003, 004);
registry.xml gets the `sharedregistry` dbConfig, the remote instance (cacheId per
E8) and the config/governance mounts; user-mgt.xml's dataSource names the user
store. URLs carry MySQL options, never H2's (E3); the real paths are used (E7).

Names: the datasources and JNDI names of documents 003/004 (WSO2_USER_DB =
jdbc/WSO2UMDB, REGISTRY_DB = jdbc/WSO2RegistryDB, the local registry under
jdbc/WSO2CarbonDB, WSO2_MB_STORE_DB = WSO2MBStoreDB). The shipped user-mgt.xml
names jdbc/WSO2CarbonDB, the node's own database: left so, each node would keep
its own users, so it is changed to jdbc/WSO2UMDB, shared by all nodes.
"""

from __future__ import annotations

import io
import posixpath
import zipfile
from dataclasses import dataclass

from lxml import etree

from ..configedit import EnsureChild, Remove, SetText, get_values
from ..context import Run
from ..facts.mysql import client_query, parse_jdbc_url
from ..params import NodeView
from ..params.derive import hosts_entries, jdbc_url, local_registry_db
from ..step import Check, Checks, Operation, Plan
from .common import edit_op, hosts_op

DS_ROLES = ("manager", "worker", "member")  # 04; the broker nodes: 07 calls the same steps with BROKERS
BROKERS = ("broker",)
USER_DS, USER_JNDI = "WSO2_USER_DB", "jdbc/WSO2UMDB"
SHARED_DS, SHARED_JNDI = "REGISTRY_DB", "jdbc/WSO2RegistryDB"
CARBON_DS, LOCAL_JNDI = "WSO2_CARBON_DB", "jdbc/WSO2CarbonDB"
MB_DS, MB_JNDI = "WSO2_MB_STORE_DB", "WSO2MBStoreDB"
INSTANCE_ID, SHARED_DBCONFIG = "instanceid", "sharedregistry"
REMOTE_URL = "https://localhost:9443/registry"  # as in the documents; unused with a dbConfig
# Where each kind of node mounts /_system/config in the shared registry (000: esbnodes,
# 003: mbconfig, 004: eiconfig): brokers and integrators share REGISTRY_DB, not their config.
CONFIG_TARGET = {"broker": "/_system/mbconfig", "ei": "/_system/eiconfig", "esb": "/_system/esbnodes",
                 "as": "/_system/asnodes"}
DS_PARENT = "/datasources-configuration/datasources"
USER_MGT_DS = "/UserManager/Realm/Configuration/Property[@name='dataSource']"


@dataclass(frozen=True)
class Datasource:
    """One datasource the runbook writes: name, JNDI name, database, description."""

    name: str
    jndi: str
    database: str
    description: str
    mb: bool = False


def node_datasources(run: Run, v: NodeView) -> list[Datasource]:
    """The node's datasources: user store and shared registry always, its own local
    registry when the params give one (else WSO2_CARBON_DB stays embedded H2, which
    003/004 allow), the MB store on broker nodes."""
    names = run.params.database.names
    out = [Datasource(USER_DS, USER_JNDI, names.user_store, "The user store, shared by every node"),
           Datasource(SHARED_DS, SHARED_JNDI, names.shared_registry,
                      "The shared registry: config and governance mounts")]
    local = local_registry_db(run.params, v.name)
    if local:
        if local in (USER_DS, SHARED_DS, MB_DS):
            raise ValueError(f"database.names.local_registry.{v.name}: {local} is also a datasource name here")
        out.append(Datasource(local, LOCAL_JNDI, local, f"The local registry of {v.name}"))
    if v.node.role == "broker" and names.mb_store:
        out.append(Datasource(MB_DS, MB_JNDI, names.mb_store, "The message broker store", mb=True))
    return out


def cache_id(run: Run) -> str:
    """E8: <db user>@<jdbc url> of the shared registry, exactly as in its datasource."""
    d = run.params.database
    return f"{d.app_user}@{jdbc_url(run.params, d.names.shared_registry)}"


def driver_class(jar: bytes | None, jar_path: str) -> str:
    """The JDBC driver class the jar registers (META-INF/services/java.sql.Driver):
    MariaDB Connector/J is org.mariadb.jdbc.Driver, not the documents' com.mysql.jdbc.Driver."""
    if jar:
        try:
            with zipfile.ZipFile(io.BytesIO(jar)) as z:
                lines = z.read("META-INF/services/java.sql.Driver").decode().splitlines()
            found = [ln.strip() for ln in lines if ln.strip() and not ln.startswith("#")]
            if found:
                return found[0]
        except (KeyError, zipfile.BadZipFile):
            pass
    return "org.mariadb.jdbc.Driver" if "mariadb" in posixpath.basename(jar_path) else "com.mysql.jdbc.Driver"


def datasource_node(run: Run, ds: Datasource, driver: str, password: str) -> tuple:
    """The <datasource> element as a node spec (pool settings as in 003/004)."""
    d = run.params.database
    config = [("url", jdbc_url(run.params, ds.database)), ("username", d.app_user), ("password", password),
              ("driverClassName", driver), ("maxActive", "50"), ("maxWait", "60000")]
    config += [("minIdle", "5")] if ds.mb else []
    config += [("testOnBorrow", "true"), ("validationQuery", "SELECT 1"), ("validationInterval", "30000")]
    config += [("defaultAutoCommit", "false")] if ds.mb else []
    return [("name", ds.name), ("description", ds.description), ("jndiConfig", [("name", ds.jndi)]),
            ("definition", {"type": "RDBMS"}, [("configuration", config)])]


def datasource_edits(run: Run, v: NodeView, driver: str, password: str) -> list:
    """EnsureChild per datasource (matched by <name>); the H2 WSO2_CARBON_DB is removed
    where a local registry datasource takes over its JNDI name (003 step 2)."""
    wanted = node_datasources(run, v)
    edits: list = [EnsureChild(DS_PARENT, "datasource", match_children={"name": ds.name},
                               children=datasource_node(run, ds, driver, password)) for ds in wanted]
    if any(ds.jndi == LOCAL_JNDI and ds.name != CARBON_DS for ds in wanted):
        edits.append(Remove(f"{DS_PARENT}/datasource[name='{CARBON_DS}']"))
    return edits


def read_only(v: NodeView) -> str:
    """Workers mount the shared registry read-only; managers, members and brokers write."""
    return "true" if v.node.role == "worker" else "false"


def config_target(v: NodeView) -> str:
    return CONFIG_TARGET["broker" if v.node.role == "broker" else v.product.name]


def registry_edits(run: Run, v: NodeView) -> list:
    """dbConfig sharedregistry, the remote instance and the two mounts (000/003/004);
    the shipped wso2registry dbConfig stays (003: it must not be removed)."""
    root = "/wso2registry"
    return [
        EnsureChild(root, "dbConfig", match_attrs={"name": SHARED_DBCONFIG}, children=[("dataSource", SHARED_JNDI)]),
        EnsureChild(root, "remoteInstance", match_children={"id": INSTANCE_ID}, attrs={"url": REMOTE_URL},
                    children=[("id", INSTANCE_ID), ("dbConfig", SHARED_DBCONFIG), ("readOnly", read_only(v)),
                              ("enableCache", "true"), ("registryRoot", "/"), ("cacheId", cache_id(run))]),
        EnsureChild(root, "mount", match_attrs={"path": "/_system/config"}, attrs={"overwrite": "true"},
                    children=[("instanceId", INSTANCE_ID), ("targetPath", config_target(v))]),
        EnsureChild(root, "mount", match_attrs={"path": "/_system/governance"}, attrs={"overwrite": "true"},
                    children=[("instanceId", INSTANCE_ID), ("targetPath", "/_system/governance")]),
    ]


def usermgt_edits() -> list:
    return [SetText(USER_MGT_DS, USER_JNDI)]


def _nodes(run: Run, roles: tuple[str, ...] = DS_ROLES) -> list[NodeView]:
    return run.selected_nodes(roles) if run.params.database else []


def _section(roles: tuple[str, ...]) -> str:
    return "07" if roles == BROKERS else "04"


def alias_entries(run: Run) -> list[tuple[str, str]]:
    """The database alias line, computed by derive.hosts_entries as 05/06 do."""
    alias = run.params.cluster.hostnames.database
    return [e for e in hosts_entries(run.params) if alias and e[1] == alias]


def plan_hosts(run: Run, roles: tuple[str, ...] = DS_ROLES) -> Plan:
    """/etc/hosts on each node host: the database alias of the JDBC URLs (000/002/003).
    05/06 write the same line (same derive.hosts_entries), so the full run converges."""
    entries = alias_entries(run)
    hosts = list(dict.fromkeys(v.host_name for v in _nodes(run, roles))) if entries else []
    return Plan(f"{_section(roles)} database alias in /etc/hosts", [hosts_op(run, h, entries) for h in hosts])


def plan_datasources(run: Run, roles: tuple[str, ...] = DS_ROLES) -> Plan:
    """Each node's master-datasources.xml (the driver class read from the jar on its host)."""
    title = f"{_section(roles)} datasources"
    if not _nodes(run, roles):
        return Plan(title, [])
    d, drivers = run.params.database, {}
    password = run.secret(d.app_password.secret)  # registered: every diff shows it as ***
    ops = []
    for v in _nodes(run, roles):
        if v.host_name not in drivers:
            drivers[v.host_name] = driver_class(run.host(v.host_name).read_file(d.driver_jar), d.driver_jar)
        ops.append(edit_op(run, v.host_name, v.conf("datasources/master-datasources.xml"), "xml",
                           datasource_edits(run, v, drivers[v.host_name], password)))
    return Plan(title, ops)


def plan_registry(run: Run, roles: tuple[str, ...] = DS_ROLES) -> Plan:
    """Each node's registry.xml (mounts) and user-mgt.xml (user store datasource)."""
    ops: list[Operation] = []
    for v in _nodes(run, roles):
        ops.append(edit_op(run, v.host_name, v.conf("registry.xml"), "xml", registry_edits(run, v)))
        ops.append(edit_op(run, v.host_name, v.conf("user-mgt.xml"), "xml", usermgt_edits()))
    return Plan(f"{_section(roles)} registry mounts and user store", ops)


# ---------------------------------------------------------------- verification

@dataclass(frozen=True)
class FoundDatasource:
    """A datasource as written in a node's master-datasources.xml."""

    name: str
    jndi: str
    url: str
    user: str
    password: str


def read_datasources(data: bytes) -> list[FoundDatasource]:
    root = etree.fromstring(data, etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False))
    out = []
    for el in root.xpath(DS_PARENT + "/datasource"):
        t = lambda rel: str(el.xpath(f"string({rel})")).strip()  # noqa: E731
        cfg = "definition/configuration/"
        out.append(FoundDatasource(t("name"), t("jndiConfig/name"), t(cfg + "url"), t(cfg + "username"),
                                   t(cfg + "password")))
    return out


def _read(run: Run, v: NodeView, rel: str) -> bytes | None:
    return run.host(v.host_name).read_file(v.conf(rel))


def _values(data: bytes | None, xpath: str, name: str) -> list[str]:
    return [x.strip() for x in get_values(data, xpath, name=name)] if data else []


def _alias_checks(run: Run, roles: tuple[str, ...] = DS_ROLES) -> list[Check]:
    """The alias in the URLs resolves, on each node host, to the database host."""
    out = []
    for addr, alias in alias_entries(run):
        for host in dict.fromkeys(v.host_name for v in _nodes(run, roles)):
            res = run.host(host).run("getent hosts %s", alias)
            found = res.stdout.split()[0] if res.ok and res.stdout.split() else "(does not resolve)"
            out.append(Check(host, f"{alias} resolves", addr, found, found == addr,
                             "apply the /etc/hosts step of this notebook"))
    return out


def verify_hosts(run: Run, roles: tuple[str, ...] = DS_ROLES) -> Checks:
    """The database alias resolves to the database host on every node host."""
    return Checks(f"{_section(roles)} database alias", _alias_checks(run, roles))


def _url_checks(run: Run, v: NodeView, ds: FoundDatasource) -> list[Check]:
    """E3 form; then a login from the node's host with the datasource's own credentials."""
    what = f"{v.name}: {ds.name} URL"
    if ds.url.startswith("jdbc:h2:"):
        allowed = ds.name == CARBON_DS and not local_registry_db(run.params, v.name)
        return [Check(v.host_name, what, "MySQL, or H2 for a node without a local registry database",
                      "embedded H2", allowed, "give the node a local registry in database.names.local_registry "
                      "and apply, or remove this datasource (only the local registry may stay on H2)")]
    parsed = parse_jdbc_url(ds.url)
    checks = [Check(v.host_name, what, "jdbc:mysql://HOST:PORT/DB?a=b&c=d (E3)",
                    "well-formed" if parsed else ds.url, parsed is not None,
                    "write a MySQL URL: no H2 options such as ;DB_CLOSE_ON_EXIT (ERRATA E3); apply this notebook")]
    if parsed:
        host, port, db = parsed
        ok, out = client_query(run.host(v.host_name), host, port, ds.user, ds.password, "SELECT DATABASE()", db)
        checks.append(Check(v.host_name, f"{v.name}: {ds.name} connects as {ds.user}", db, out,
                            ok and out == db, "run 03_databases (user, grants) and check the alias in /etc/hosts"))
    return checks


def verify_datasources(run: Run, roles: tuple[str, ...] = DS_ROLES) -> Checks:
    """Every dataSource named in registry.xml and user-mgt.xml exists in
    master-datasources.xml; the runbook's datasources are as intended; every URL is a
    well-formed MySQL URL (E3) that connects with its own credentials from the node's host."""
    checks = _alias_checks(run, roles)
    for v in _nodes(run, roles):
        files = {rel: _read(run, v, rel) for rel in ("datasources/master-datasources.xml", "registry.xml",
                                                     "user-mgt.xml")}
        missing = [rel for rel, data in files.items() if data is None]
        if missing:
            checks.append(Check(v.host_name, f"{v.name}: config files", "present", f"missing {missing[0]}", False,
                                f"check nodes.{v.name}.home"))
            continue
        found = read_datasources(files["datasources/master-datasources.xml"])
        by_jndi = {ds.jndi: ds for ds in found}
        refs = [("registry.xml", x) for x in _values(files["registry.xml"], "/wso2registry/dbConfig/dataSource",
                                                     "registry.xml")]
        refs += [("user-mgt.xml", x) for x in _values(files["user-mgt.xml"], USER_MGT_DS, "user-mgt.xml")]
        for rel, jndi in dict.fromkeys(refs):
            ds = by_jndi.get(jndi)
            checks.append(Check(v.host_name, f"{v.name}: {rel} dataSource {jndi}", "in master-datasources.xml",
                                f"yes ({ds.name})" if ds else "not defined", ds is not None,
                                "apply the datasources step, or fix the name in " + rel))
        dup = sorted({ds.jndi for ds in found if [x.jndi for x in found].count(ds.jndi) > 1})
        checks.append(Check(v.host_name, f"{v.name}: JNDI names unique", "no duplicates", ", ".join(dup) or
                            "no duplicates", not dup, "remove the older datasource with that JNDI name"))
        d, named = run.params.database, {ds.name: ds for ds in found}
        for want in node_datasources(run, v):
            ds, url = named.get(want.name), jdbc_url(run.params, want.database)
            got = "(absent)" if ds is None else f"{ds.jndi}, {want.database if ds.url == url else ds.url}, {ds.user}"
            checks.append(Check(v.host_name, f"{v.name}: datasource {want.name}",
                                f"{want.jndi}, {want.database}, {d.app_user}", got,
                                got == f"{want.jndi}, {want.database}, {d.app_user}", "apply the datasources step"))
        for ds in found:
            checks += _url_checks(run, v, ds)
    return Checks(f"{_section(roles)} datasources", checks)


def verify_registry(run: Run, roles: tuple[str, ...] = DS_ROLES) -> Checks:
    """registry.xml: sharedregistry on the shared datasource, the remote instance with
    readOnly as intended and cacheId = user@url of that datasource (E8), both mounts;
    user-mgt.xml on the shared user store."""
    checks: list[Check] = []
    for v in _nodes(run, roles):
        reg, um = _read(run, v, "registry.xml"), _read(run, v, "user-mgt.xml")
        mds = _read(run, v, "datasources/master-datasources.xml")
        shared = [ds for ds in (read_datasources(mds) if mds else []) if ds.jndi == SHARED_JNDI]
        e8 = f"{shared[0].user}@{shared[0].url}" if shared else cache_id(run)
        ri = f"/wso2registry/remoteInstance[id='{INSTANCE_ID}']"
        rows = [
            ("user-mgt.xml dataSource", _values(um, USER_MGT_DS, "user-mgt.xml"), USER_JNDI),
            ("registry.xml sharedregistry dataSource", _values(
                reg, f"/wso2registry/dbConfig[@name='{SHARED_DBCONFIG}']/dataSource", "registry.xml"), SHARED_JNDI),
            ("remoteInstance dbConfig", _values(reg, f"{ri}/dbConfig", "registry.xml"), SHARED_DBCONFIG),
            ("remoteInstance readOnly", _values(reg, f"{ri}/readOnly", "registry.xml"), read_only(v)),
            ("remoteInstance cacheId (E8)", _values(reg, f"{ri}/cacheId", "registry.xml"), e8),
        ]
        for path, target in (("/_system/config", config_target(v)), ("/_system/governance", "/_system/governance")):
            m = f"/wso2registry/mount[@path='{path}']"
            got = [f"{a} -> {b}" for a, b in zip(_values(reg, f"{m}/instanceId", "registry.xml"),
                                                 _values(reg, f"{m}/targetPath", "registry.xml"))]
            rows.append((f"mount {path}", got, f"{INSTANCE_ID} -> {target}"))
        for what, got, want in rows:
            shown = " | ".join(got) if got else "(absent)"
            ok = got == [want] and (what != "remoteInstance cacheId (E8)" or want == cache_id(run))
            checks.append(Check(v.host_name, f"{v.name}: {what}", want, shown, ok,
                                "apply the registry step of this notebook (and the datasources step first)"))
    return Checks(f"{_section(roles)} registry and user store", checks)
