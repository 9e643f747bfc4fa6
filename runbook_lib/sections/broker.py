"""07 broker: what notebooks/07_broker.ipynb calls, for the message-broker
nodes (003), their own cluster in their own domain. The database and clocks
checked first; /etc/hosts, datasources, registry and axis2.xml written by
the same code as 04-06 (nodes/), then the broker's own files, its secrets at
rest; then the brokers started and their cluster proven (one coordinator,
fresh heartbeats, the message store's health). Its parts: messaging/."""
from __future__ import annotations

from ..core.context import Run
from ..core.step import Checks, Plan
from .messaging import broker_files, broker_health, broker_runtime
from .nodes import clustering, datasources, registry, secrets_at_rest
from .nodes.clustering import BROKERS as ROLES


def verify_clock_skew(run: Run) -> Checks:
    """The brokers' clocks against each other (E17: their heartbeats compare times)."""
    return broker_files.verify_clock_skew(run)


def verify_mb_store(run: Run) -> Checks:
    """The message store database holds the coordination tables (03 made it)."""
    return broker_files.verify_mb_store(run)


def plan_hosts(run: Run) -> Plan:
    return clustering.plan_hosts(run, ROLES)


def verify_hosts(run: Run) -> Checks:
    return clustering.verify_hosts(run, ROLES)


def plan_datasources(run: Run) -> Plan:
    """master-datasources.xml, the message store (WSO2_MB_STORE_DB) included."""
    return datasources.plan_datasources(run, ROLES)


def verify_datasources(run: Run) -> Checks:
    return datasources.verify_datasources(run, ROLES)


def plan_registry(run: Run) -> Plan:
    return registry.plan_registry(run, ROLES)


def verify_registry(run: Run) -> Checks:
    return registry.verify_registry(run, ROLES)


def plan_axis2(run: Run) -> Plan:
    """axis2.xml: the brokers' own clustering domain, every broker a member."""
    return clustering.plan_axis2(run, ROLES)


def verify_axis2(run: Run) -> Checks:
    return clustering.verify_axis2(run, ROLES)


def plan_file(run: Run, kind: str) -> Plan:
    """One of the broker's own files: KIND is broker, qpid, hazelcast, log4j or carbon."""
    return broker_files.plan_file(run, kind)


def verify_file(run: Run, kind: str) -> Checks:
    return broker_files.verify_file(run, kind)


def plan_secrets(run: Run) -> Plan:
    """Secure Vault (when enabled) and the modes of every file holding a secret."""
    return secrets_at_rest.plan(run, ROLES)


def verify_secrets(run: Run) -> Checks:
    return secrets_at_rest.verify(run, ROLES)


def plan_start(run: Run) -> Plan:
    """Each broker started with bin/broker.sh (restarted when its files changed)."""
    return broker_runtime.plan_start(run)


def verify_running(run: Run) -> Checks:
    """The brokers' cluster: applied, waited for until it settles; plan only, as it is now."""
    return broker_runtime.settle(run) if run.apply else broker_runtime.verify_cluster(run)


def store_health(run: Run) -> Checks:
    """The message store's health as each broker's console reports it."""
    return broker_health.store_health(run)
