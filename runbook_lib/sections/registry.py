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

from ..configedit import EnsureChild, Remove, SetText
from ..context import Run
from ..params import NodeView
from ..params.derive import hosts_entries, jdbc_url, local_registry_db
from ..params.secrets import _RESOLVED
from ..step import Operation, Plan
from .common import edit_op, hosts_op

DS_ROLES = ("manager", "worker", "member", "broker")
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


def _nodes(run: Run) -> list[NodeView]:
    return run.selected_nodes(DS_ROLES) if run.params.database else []


def alias_entries(run: Run) -> list[tuple[str, str]]:
    """The database alias line, computed by derive.hosts_entries as 05/06 do."""
    alias = run.params.cluster.hostnames.database
    return [e for e in hosts_entries(run.params) if alias and e[1] == alias]


def plan_hosts(run: Run) -> Plan:
    """/etc/hosts on each node host: the database alias of the JDBC URLs (000/002/003).
    05/06 write the same line (same derive.hosts_entries), so the full run converges."""
    entries = alias_entries(run)
    hosts = list(dict.fromkeys(v.host_name for v in _nodes(run))) if entries else []
    return Plan("04 database alias in /etc/hosts", [hosts_op(run, h, entries) for h in hosts])


def _app_password(run: Run) -> str:
    """The application password, registered for masking as written and as XML text."""
    pw = run.secret(run.params.database.app_password.secret)
    escaped = pw.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    if escaped != pw:
        _RESOLVED.add(escaped)
    return pw


def plan_datasources(run: Run) -> Plan:
    """Each node's master-datasources.xml (the driver class read from the jar on its host)."""
    if not _nodes(run):
        return Plan("04 datasources", [])
    password, jar, drivers = _app_password(run), run.params.database.driver_jar, {}
    ops = []
    for v in _nodes(run):
        if v.host_name not in drivers:
            drivers[v.host_name] = driver_class(run.host(v.host_name).read_file(jar), jar)
        ops.append(edit_op(run, v.host_name, v.conf("datasources/master-datasources.xml"), "xml",
                           datasource_edits(run, v, drivers[v.host_name], password)))
    return Plan("04 datasources", ops)


def plan_registry(run: Run) -> Plan:
    """Each node's registry.xml (mounts) and user-mgt.xml (user store datasource)."""
    ops: list[Operation] = []
    for v in _nodes(run):
        ops.append(edit_op(run, v.host_name, v.conf("registry.xml"), "xml", registry_edits(run, v)))
        ops.append(edit_op(run, v.host_name, v.conf("user-mgt.xml"), "xml", usermgt_edits()))
    return Plan("04 registry mounts and user store", ops)


from .registry_checks import verify_datasources, verify_registry  # noqa: E402,F401  (re-exported)
