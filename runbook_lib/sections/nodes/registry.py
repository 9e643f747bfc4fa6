"""04 registry mount, second half: registry.xml and user-mgt.xml on every node.

registry.xml gets the `sharedregistry` dbConfig, the remote instance (cacheId per
E8) and the config/governance mounts; user-mgt.xml's dataSource names the user
store. The shipped user-mgt.xml names jdbc/WSO2CarbonDB, the node's own
database: left so, each node would keep its own users, so it is changed to
jdbc/WSO2UMDB, shared by all nodes. The datasources these name are written by
datasources.py, which notebooks 04 and 07 call for them.
"""

from __future__ import annotations

from ...configedit import EnsureChild, SetText, get_values
from ...core.context import Run
from ...params import NodeView
from ...params.derive import jdbc_url
from ...core.step import Checks, Plan
from .datasources import (BROKERS, DS_ROLES, SHARED_JNDI, USER_JNDI, USER_MGT_DS, _alias_checks, _nodes,
                          alias_entries, section)
from ..shared.filestep import FileStep, HostsStep, Reader, Want, per_node

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
    step = HostsStep(tuple(entries))
    return Plan(f"{section(roles)} database alias in /etc/hosts", [step.operation(run, h) for h in hosts])


def _values_of(xpath: str) -> Reader:
    """The stripped values at XPATH in registry.xml."""
    return lambda data: [x.strip() for x in get_values(data, xpath, name="registry.xml")]


def _mount(path: str) -> Reader:
    """A mount as "instanceId -> targetPath"."""
    m = f"/wso2registry/mount[@path='{path}']"
    return lambda data: [f"{a} -> {b}" for a, b in zip(_values_of(f"{m}/instanceId")(data),
                                                          _values_of(f"{m}/targetPath")(data))]


def registry_wants(run: Run, v: NodeView) -> list[Want]:
    """sharedregistry on the shared datasource, the remote instance with readOnly as
    intended and cacheId = user@url of that datasource (E8), both mounts."""
    ri = f"/wso2registry/remoteInstance[id='{INSTANCE_ID}']"
    return [
        Want("registry.xml sharedregistry dataSource",
             _values_of(f"/wso2registry/dbConfig[@name='{SHARED_DBCONFIG}']/dataSource"), [SHARED_JNDI]),
        Want("remoteInstance dbConfig", _values_of(f"{ri}/dbConfig"), [SHARED_DBCONFIG]),
        Want("remoteInstance readOnly", _values_of(f"{ri}/readOnly"), [read_only(v)]),
        Want("remoteInstance cacheId (E8)", _values_of(f"{ri}/cacheId"), [cache_id(run)]),
        *[Want(f"mount {path}", _mount(path), [f"{INSTANCE_ID} -> {target}"])
          for path, target in (("/_system/config", config_target(v)), ("/_system/governance", "/_system/governance"))],
    ]


_FIX = "apply the registry step of this notebook (and the datasources step first)"
REGISTRY_STEP = FileStep("registry", "xml", lambda run, v, data: (registry_edits(run, v), registry_wants(run, v)),
                         DS_ROLES + BROKERS, empty="(absent)", fix=_FIX, named=False)
USER_MGT_STEP = FileStep("user_mgt", "xml", lambda run, v, data: (
    usermgt_edits(), [Want("dataSource", _values_of(USER_MGT_DS), [USER_JNDI])]), DS_ROLES + BROKERS,
    empty="(absent)", fix=_FIX)


def plan_registry(run: Run, roles: tuple[str, ...] = DS_ROLES) -> Plan:
    """Each node's registry.xml (mounts) and user-mgt.xml (user store datasource)."""
    ops = [step.operation(run, v) for v in _nodes(run, roles) for step in (REGISTRY_STEP, USER_MGT_STEP)]
    return Plan(f"{section(roles)} registry mounts and user store", ops)


# ---------------------------------------------------------------- verification


def verify_hosts(run: Run, roles: tuple[str, ...] = DS_ROLES) -> Checks:
    """The database alias resolves to the database host on every node host."""
    return Checks(f"{section(roles)} database alias", _alias_checks(run, roles))


def verify_registry(run: Run, roles: tuple[str, ...] = DS_ROLES) -> Checks:
    """user-mgt.xml on the shared user store; registry.xml as its step wants it
    (each file read once)."""
    checks = per_node(_nodes(run, roles), lambda v: USER_MGT_STEP.checks(run, v) + REGISTRY_STEP.checks(run, v))
    return Checks(f"{section(roles)} registry and user store", checks)
