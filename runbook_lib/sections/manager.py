"""05 manager: what notebooks/05_manager.ipynb calls, for the manager node.
Its clustering settings (axis2.xml, carbon.xml, catalina-server.xml,
/etc/hosts), the SVN repository the deployment synchronizer commits to, and
the command that starts it. Its parts: nodes/ (shared with 04, 06 and 07)."""
from __future__ import annotations

from ..core.context import Run
from ..core.step import Checks, Plan
from .nodes import clustering, svn
from .nodes.clustering import MANAGER as ROLES


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


def plan_repository(run: Run) -> Plan:
    """The SVN repository, created on the SVN host (deployment_sync.kind: svn)."""
    return svn.plan_repository(run)


def verify_repository(run: Run) -> Checks:
    """The manager's host reads the repository with the synchronizer's credentials."""
    return svn.verify_repository(run, ROLES)


def start_commands(run: Run) -> Checks:
    """How the manager is started (its own script, with the profile's flags)."""
    return clustering.start_commands(run, ROLES)
