"""04, first half: each node's master-datasources.xml, and how its databases are reached.

The user store, the shared registry, the node's own local registry and, on
broker nodes, the message store (documents 003, 004), with the datasource and
JNDI names of 003/004 (WSO2_USER_DB = jdbc/WSO2UMDB, REGISTRY_DB =
jdbc/WSO2RegistryDB, the local registry under jdbc/WSO2CarbonDB,
WSO2_MB_STORE_DB = WSO2MBStoreDB). URLs carry MySQL options, never H2's (E3);
verification logs in with each datasource's own credentials from its node.
registry.py (the other half of 04) builds on this module.
"""

from __future__ import annotations

from dataclasses import dataclass

from lxml import etree

from ...configedit import EnsureChild, Remove, get_values
from ...core.context import Run
from ...core.step import Check, Checks, Plan
from ...facts.jar import driver_class_on
from ...facts.mysql import client_queries, client_query, parse_jdbc_url
from ...params import NodeView
from ...params.derive import hosts_entries, jdbc_url, local_registry_db
from ..securevault.aliases import datasource_alias
from ..securevault.xmlns import ALIAS_ATTR, PLACEHOLDER, DeclareSvns
from ..shared.filestep import FileStep, Reader, Want, hosts_checks, per_node

DS_ROLES = ("manager", "worker", "member")  # 04; the broker nodes: 07 calls the same steps with BROKERS
BROKERS = ("broker",)
USER_DS, USER_JNDI = "WSO2_USER_DB", "jdbc/WSO2UMDB"
SHARED_DS, SHARED_JNDI = "REGISTRY_DB", "jdbc/WSO2RegistryDB"
CARBON_DS, LOCAL_JNDI = "WSO2_CARBON_DB", "jdbc/WSO2CarbonDB"
MB_DS, MB_JNDI = "WSO2_MB_STORE_DB", "WSO2MBStoreDB"
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


def datasource_node(run: Run, ds: Datasource, driver: str, password: str, description: str | None = None) -> tuple:
    """The <datasource> element as a node spec (pool settings as in 003/004);
    DESCRIPTION: the one the file already has, kept (free text, issue 20)."""
    d = run.params.database
    # Secure Vault on (issue 19): `password` and its alias, as ciphertool.sh -Dconfigure leaves it
    secret = ("password", {ALIAS_ATTR: datasource_alias(ds.name)}, PLACEHOLDER) if run.params.securevault.enabled \
        else ("password", password)
    config = [("url", jdbc_url(run.params, ds.database)), ("username", d.app_user), secret,
              ("driverClassName", driver), ("maxActive", "50"), ("maxWait", "60000")]
    config += [("minIdle", "5")] if ds.mb else []
    config += [("testOnBorrow", "true"), ("validationQuery", "SELECT 1"), ("validationInterval", "30000")]
    config += [("defaultAutoCommit", "false")] if ds.mb else []
    return [("name", ds.name), ("description", description or ds.description), ("jndiConfig", [("name", ds.jndi)]),
            ("definition", {"type": "RDBMS"}, [("configuration", config)])]


def written_descriptions(data: bytes | None) -> dict[str, str]:
    """Each datasource's <description> as the file has it, by name: a description
    is the operator's own words, so an existing one is kept (an adopted cluster's, issue 20)."""
    if not data:
        return {}
    try:
        root = etree.fromstring(data, etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False))
    except (etree.XMLSyntaxError, ValueError):  # no file yet, or one the edit step reports as malformed
        return {}
    return {str(el.xpath("string(name)")).strip(): str(el.xpath("string(description)")).strip()
            for el in root.xpath(DS_PARENT + "/datasource") if el.xpath("description")}


def datasource_edits(run: Run, v: NodeView, driver: str, password: str, data: bytes | None = None) -> list:
    """EnsureChild per datasource (matched by <name>); the H2 WSO2_CARBON_DB is removed
    where a local registry datasource takes over its JNDI name (003 step 2)."""
    wanted, kept = node_datasources(run, v), written_descriptions(data)
    edits: list = [DeclareSvns()] if run.params.securevault.enabled else []
    edits += [EnsureChild(DS_PARENT, "datasource", match_children={"name": ds.name},
                          children=datasource_node(run, ds, driver, password, kept.get(ds.name)))
              for ds in wanted]
    if any(ds.jndi == LOCAL_JNDI and ds.name != CARBON_DS for ds in wanted):
        edits.append(Remove(f"{DS_PARENT}/datasource[name='{CARBON_DS}']"))
    return edits


def _nodes(run: Run, roles: tuple[str, ...] = DS_ROLES) -> list[NodeView]:
    return run.selected_nodes(roles) if run.params.database else []


def section(roles: tuple[str, ...]) -> str:
    """The notebook the step belongs to: 07 for the brokers, else 04."""
    return "07" if roles == BROKERS else "04"


def alias_entries(run: Run) -> list[tuple[str, str]]:
    """The database alias line, computed by derive.hosts_entries as 05/06 do."""
    alias = run.params.cluster.hostnames.database
    return [e for e in hosts_entries(run.params) if alias and e[1] == alias]


def _written_as(name: str, url: str, database: str) -> Reader:
    """A datasource as "JNDI name, database, user" (the URL in place of the database when it is not URL)."""
    def read(data: bytes) -> list[str]:
        ds = next((x for x in read_datasources(data) if x.name == name), None)
        return [] if ds is None else [f"{ds.jndi}, {database if ds.url == url else ds.url}, {ds.user}"]
    return read


def datasource_wants(run: Run, v: NodeView) -> list[Want]:
    """Each of the node's datasources with its JNDI name, database (by its URL) and user."""
    user = run.params.database.app_user
    return [Want(f"datasource {ds.name}", _written_as(ds.name, jdbc_url(run.params, ds.database), ds.database),
                 [f"{ds.jndi}, {ds.database}, {user}"]) for ds in node_datasources(run, v)]


def _datasources_step(run: Run) -> FileStep:
    """master-datasources.xml: the driver class read once per host from the jar there
    (for the edits only: the values verified do not need it)."""
    d, drivers = run.params.database, {}
    password = run.secret(d.app_password.secret)  # registered: every diff shows it as ***

    def wanted(run: Run, v: NodeView, data: bytes) -> tuple[list, list]:
        if v.host_name not in drivers:
            drivers[v.host_name] = driver_class_on(run.host(v.host_name), d.driver_jar)
        return datasource_edits(run, v, drivers[v.host_name], password, data), datasource_wants(run, v)
    return FileStep("datasources", "xml", wanted, DS_ROLES + BROKERS, empty="(absent)",
                    fix="apply the datasources step", named=False,
                    expected=lambda run, v, data: datasource_wants(run, v))


def plan_datasources(run: Run, roles: tuple[str, ...] = DS_ROLES) -> Plan:
    """Each node's master-datasources.xml (the driver class read from the jar on its host)."""
    title = f"{section(roles)} datasources"
    if not _nodes(run, roles):
        return Plan(title, [])
    step = _datasources_step(run)
    return Plan(title, [step.operation(run, v) for v in _nodes(run, roles)])


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


def _read(run: Run, v: NodeView, key: str) -> bytes | None:
    """The node's config file KEY (the spec's files)."""
    return run.host(v.host_name).read_file(v.file(key))


def _values(data: bytes | None, xpath: str, name: str) -> list[str]:
    return [x.strip() for x in get_values(data, xpath, name=name)] if data else []


def _alias_checks(run: Run, roles: tuple[str, ...] = DS_ROLES) -> list[Check]:
    """The alias in the URLs resolves, on each node host, to the database host."""
    hosts = list(dict.fromkeys(v.host_name for v in _nodes(run, roles)))
    entries = alias_entries(run)
    by_host = hosts_checks(run, hosts, entries, "apply the /etc/hosts step of this notebook")
    k = len(entries)  # one command per host; shown entry by entry, each on every host
    return [by_host[h * k + e] for e in range(k) for h in range(len(hosts))]


def _password(run: Run, ds: FoundDatasource) -> str:
    """The datasource's password: under Secure Vault (issue 19) the file holds the placeholder and the
    node's cipher text holds the params' secret, so the login uses that secret."""
    if run.params.securevault.enabled and ds.password == PLACEHOLDER and run.params.database:
        return run.secret(run.params.database.app_password.secret)
    return ds.password


def _logins(run: Run, v: NodeView, found: list[FoundDatasource]) -> dict[int, tuple[bool, str]]:
    """Each MySQL datasource's login from the node's host, all in one command (client_queries).
    Datasources with the same server and credentials share one login that selects each one's
    database in turn (`USE`: the server's check of a connection to that database; at 128
    workers a client per datasource was a third of a second); if one is refused, each of that
    login's datasources is asked on its own, so the answer names which and why."""
    h = run.host(v.host_name)
    groups: dict[tuple[str, int, str, str], list[tuple[FoundDatasource, str]]] = {}
    for ds in found:
        parsed = None if ds.url.startswith("jdbc:h2:") else parse_jdbc_url(ds.url)
        if parsed:
            groups.setdefault((parsed[0], parsed[1], ds.user, _password(run, ds)), []).append((ds, parsed[2]))
    logins = [(*key, "SELECT DATABASE()", members[0][1]) if len(members) == 1 else
              (*key, "; ".join(f"USE `{db}`; SELECT DATABASE()" for _, db in members), None)
              for key, members in groups.items()]
    out: dict[int, tuple[bool, str]] = {}
    for (key, members), (ok, text) in zip(groups.items(), client_queries(h, logins)):
        rows = text.split("\n") if ok else []
        if len(members) == 1:
            out[id(members[0][0])] = (ok, text)
        elif ok and len(rows) == len(members):
            out.update({id(ds): (True, row.strip()) for (ds, _), row in zip(members, rows)})
        else:
            out.update({id(ds): client_query(h, *key, "SELECT DATABASE()", db) for ds, db in members})
    return out


def _url_checks(run: Run, v: NodeView, ds: FoundDatasource, login: tuple[bool, str] | None = None) -> list[Check]:
    """E3 form; then a login from the node's host with the datasource's own credentials
    (LOGIN: its answer when _logins already asked)."""
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
        ok, out = login or client_query(run.host(v.host_name), host, port, ds.user, _password(run, ds),
                                        "SELECT DATABASE()", db)
        checks.append(Check(v.host_name, f"{v.name}: {ds.name} connects as {ds.user}", db, out,
                            ok and out == db, "run 03_databases (user, grants) and check the alias in /etc/hosts",
                            via=(run.params.database.host,) if run.params.database else ()))
    return checks


def verify_datasources(run: Run, roles: tuple[str, ...] = DS_ROLES) -> Checks:
    """Every dataSource named in registry.xml and user-mgt.xml exists in
    master-datasources.xml; the runbook's datasources are as intended; every URL is a
    well-formed MySQL URL (E3) that connects with its own credentials from the node's host."""
    checks, step = _alias_checks(run, roles), _datasources_step(run) if _nodes(run, roles) else None

    def one(v: NodeView) -> list[Check]:
        checks: list[Check] = []
        keys = ("datasources", "registry", "user_mgt")
        with run.host(v.host_name).prefetched(v.file(key) for key in keys):  # one command, not three reads
            files = {key: _read(run, v, key) for key in keys}
        missing = [v.spec.files[key].rel for key, data in files.items() if data is None]
        if missing:
            checks.append(Check(v.host_name, f"{v.name}: config files", "present", f"missing {missing[0]}", False,
                                f"check nodes.{v.name}.home"))
            return checks
        found = read_datasources(files["datasources"])
        by_jndi = {ds.jndi: ds for ds in found}
        refs = [("registry.xml", x) for x in _values(files["registry"], "/wso2registry/dbConfig/dataSource",
                                                     "registry.xml")]
        refs += [("user-mgt.xml", x) for x in _values(files["user_mgt"], USER_MGT_DS, "user-mgt.xml")]
        for rel, jndi in dict.fromkeys(refs):
            ds = by_jndi.get(jndi)
            checks.append(Check(v.host_name, f"{v.name}: {rel} dataSource {jndi}", "in master-datasources.xml",
                                f"yes ({ds.name})" if ds else "not defined", ds is not None,
                                "apply the datasources step, or fix the name in " + rel))
        dup = sorted({ds.jndi for ds in found if [x.jndi for x in found].count(ds.jndi) > 1})
        checks.append(Check(v.host_name, f"{v.name}: JNDI names unique", "no duplicates", ", ".join(dup) or
                            "no duplicates", not dup, "remove the older datasource with that JNDI name"))
        checks += step.checks_for(v, run, files["datasources"])
        logins = _logins(run, v, found)
        for ds in found:
            checks += _url_checks(run, v, ds, logins.get(id(ds)))
        return checks
    checks += per_node(_nodes(run, roles), one)
    return Checks(f"{section(roles)} datasources", checks)
