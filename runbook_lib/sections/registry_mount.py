"""04 registry mount: what notebooks/04_registry_mount.ipynb calls, for the
manager, workers and members. /etc/hosts (the database host's name), each
node's master-datasources.xml, its secrets at rest, then registry.xml and
user-mgt.xml. Its parts: nodes/ (shared with 05-07) and securevault/."""
from __future__ import annotations

from ..core.context import Run
from ..core.step import Checks, Plan
from .nodes import datasources, registry, secrets_at_rest
from .nodes.datasources import DS_ROLES as ROLES


def plan_hosts(run: Run) -> Plan:
    """/etc/hosts on each node: the names its datasources use."""
    return registry.plan_hosts(run, ROLES)


def verify_hosts(run: Run) -> Checks:
    return registry.verify_hosts(run, ROLES)


def plan_datasources(run: Run) -> Plan:
    """master-datasources.xml: the user store, shared and local registry."""
    return datasources.plan_datasources(run, ROLES)


def verify_datasources(run: Run) -> Checks:
    """The values written, and a login with each datasource's own credentials."""
    return datasources.verify_datasources(run, ROLES)


def plan_secrets(run: Run) -> Plan:
    """Secure Vault (when enabled) and the modes of every file holding a secret."""
    return secrets_at_rest.plan(run, ROLES)


def verify_secrets(run: Run) -> Checks:
    return secrets_at_rest.verify(run, ROLES)


def plan_registry(run: Run) -> Plan:
    """registry.xml's shared registry and mounts; user-mgt.xml's user store."""
    return registry.plan_registry(run, ROLES)


def verify_registry(run: Run) -> Checks:
    return registry.verify_registry(run, ROLES)
