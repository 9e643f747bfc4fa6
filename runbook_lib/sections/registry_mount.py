"""04 registry mount, second half: registry.xml and user-mgt.xml on every node.

registry.xml gets the `sharedregistry` dbConfig, the remote instance (cacheId per
E8) and the config/governance mounts; user-mgt.xml's dataSource names the user
store. The shipped user-mgt.xml names jdbc/WSO2CarbonDB, the node's own
database: left so, each node would keep its own users, so it is changed to
jdbc/WSO2UMDB, shared by all nodes. The datasources these name are written by
datasources.py, which notebooks 04 and 07 call for them.
"""

from __future__ import annotations

from ..configedit import EnsureChild, SetText
from ..core.context import Run
from ..core.step import Check, Checks, Plan
from ..params import NodeView
from ..params.derive import jdbc_url
from .datasources import (BROKERS, DS_ROLES, SHARED_JNDI, USER_JNDI, USER_MGT_DS, _alias_checks, _nodes, _read,
                          _values, alias_entries, read_datasources, section)
from .shared.builders import hosts_op
from .shared.filestep import FileStep, per_node

INSTANCE_ID, SHARED_DBCONFIG = "instanceid", "sharedregistry"
REMOTE_URL = "https://localhost:9443/registry"  # as in the documents; unused with a dbConfig


def cache_id(run: Run) -> str:
    """E8: <db user>@<jdbc url> of the shared registry, exactly as in its datasource."""
    d = run.params.database
    return f"{d.app_user}@{jdbc_url(run.params, d.names.shared_registry)}"


def read_only(v: NodeView) -> str:
    """Workers mount the shared registry read-only; managers, members and brokers write."""
    return "true" if v.node.role == "worker" else "false"


def config_target(v: NodeView) -> str:
    """Where the node mounts /_system/config in the shared registry (000: esbnodes,
    003: mbconfig, 004: eiconfig): brokers and integrators share REGISTRY_DB, not
    their config. From the node's product spec."""
    return v.spec.registry_config_target


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


def plan_hosts(run: Run, roles: tuple[str, ...] = DS_ROLES) -> Plan:
    """/etc/hosts on each node host: the database alias of the JDBC URLs (000/002/003).
    05/06 write the same line (same derive.hosts_entries), so the full run converges."""
    entries = alias_entries(run)
    hosts = list(dict.fromkeys(v.host_name for v in _nodes(run, roles))) if entries else []
    return Plan(f"{section(roles)} database alias in /etc/hosts", [hosts_op(run, h, entries) for h in hosts])


REGISTRY_STEP = FileStep("registry", "xml", lambda run, v, data: (registry_edits(run, v), []), DS_ROLES + BROKERS)
USER_MGT_STEP = FileStep("user_mgt", "xml", lambda run, v, data: (usermgt_edits(), []), DS_ROLES + BROKERS)


def plan_registry(run: Run, roles: tuple[str, ...] = DS_ROLES) -> Plan:
    """Each node's registry.xml (mounts) and user-mgt.xml (user store datasource)."""
    ops = [step.operation(run, v) for v in _nodes(run, roles) for step in (REGISTRY_STEP, USER_MGT_STEP)]
    return Plan(f"{section(roles)} registry mounts and user store", ops)


# ---------------------------------------------------------------- verification


def verify_hosts(run: Run, roles: tuple[str, ...] = DS_ROLES) -> Checks:
    """The database alias resolves to the database host on every node host."""
    return Checks(f"{section(roles)} database alias", _alias_checks(run, roles))


def verify_registry(run: Run, roles: tuple[str, ...] = DS_ROLES) -> Checks:
    """registry.xml: sharedregistry on the shared datasource, the remote instance with
    readOnly as intended and cacheId = user@url of that datasource (E8), both mounts;
    user-mgt.xml on the shared user store."""
    checks: list[Check] = []

    def one(v: NodeView) -> list[Check]:
        checks: list[Check] = []
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
        return checks
    checks += per_node(_nodes(run, roles), one)
    return Checks(f"{section(roles)} registry and user store", checks)
