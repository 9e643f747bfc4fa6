"""06 workers: what notebooks/06_workers.ipynb calls, for the workers (and
004's members). Their clustering settings (axis2.xml, carbon.xml,
catalina-server.xml, /etc/hosts), the deployment synchronisation (SVN: an
empty deployment folder before the first checkout; rsync: the source node's
push), and the commands that start them. Its parts: nodes/ (shared with
04, 05 and 07)."""
from __future__ import annotations

from ..core.context import Run
from ..core.step import Checks, Plan
from .nodes import clustering, rsync_sync, svn
from .nodes.clustering import WORKERS as ROLES


def plan_axis2(run: Run) -> Plan:
    return clustering.plan_axis2(run, ROLES)


def verify_axis2(run: Run) -> Checks:
    return clustering.verify_axis2(run, ROLES)


def plan_carbon(run: Run) -> Plan:
    return clustering.plan_carbon(run, ROLES)


def verify_carbon(run: Run) -> Checks:
    return clustering.verify_carbon(run, ROLES)


def plan_catalina(run: Run) -> Plan:
    return clustering.plan_catalina(run, ROLES)


def verify_catalina(run: Run) -> Checks:
    return clustering.verify_catalina(run, ROLES)


def plan_hosts(run: Run) -> Plan:
    return clustering.plan_hosts(run, ROLES)


def verify_hosts(run: Run) -> Checks:
    return clustering.verify_hosts(run, ROLES)


def verify_repository(run: Run) -> Checks:
    """Each worker's host reads the SVN repository with the synchronizer's credentials."""
    return svn.verify_repository(run, ROLES)


def plan_empty_deployment(run: Run) -> Plan:
    """SVN: each worker's deployment folder emptied (with a backup) before its first checkout."""
    return svn.plan_empty_deployment(run)


def verify_empty_deployment(run: Run) -> Checks:
    return svn.verify_empty_deployment(run)


def plan_rsync(run: Run) -> Plan:
    """rsync: the source node's script, key, workers list and schedule; its key on the others."""
    return rsync_sync.plan_rsync(run)


def verify_rsync(run: Run) -> Checks:
    return rsync_sync.verify_rsync(run)


def start_commands(run: Run) -> Checks:
    """How each worker is started (its own script, with the worker flag)."""
    return clustering.start_commands(run, ROLES)
