"""03 databases: what notebooks/03_databases.ipynb calls. The cluster's
databases with the products' scripts, the application user and its grants,
and the JDBC driver on every node. Its parts: db/."""
from __future__ import annotations

from ..core.context import Run
from ..core.step import Checks, Plan
from .db import jdbc_driver, server


def plan_databases(run: Run) -> Plan:
    """Each database created and its script sourced once."""
    return server.plan_databases(run)


def verify_databases(run: Run) -> Checks:
    """Each database present, with its character set and tables."""
    return server.verify_databases(run)


def plan_app_user(run: Run) -> Plan:
    """The application user (CREATE USER, then GRANT: E1) on the cluster's databases only."""
    return server.plan_app_user(run)


def verify_app_user(run: Run) -> Checks:
    """The application user's grants are exactly the intended ones."""
    return server.verify_app_user(run)


def plan_driver(run: Run) -> Plan:
    """The JDBC driver jar in each node's lib folder (E7)."""
    return jdbc_driver.plan_driver(run)


def verify_driver(run: Run) -> Checks:
    """Each node holds the same driver jar (sha256)."""
    return jdbc_driver.verify_driver(run)


def plan_driver_scheme(run: Run) -> Plan:
    """Where the driver refuses `jdbc:mysql:` URLs, the option that permits them."""
    return jdbc_driver.plan_driver_scheme(run)


def verify_driver_scheme(run: Run) -> Checks:
    """Each node's driver accepts the URLs its datasources use."""
    return jdbc_driver.verify_driver_scheme(run)
