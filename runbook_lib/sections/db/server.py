"""03 databases: the cluster's MySQL/MariaDB databases, the application user, the
product's SQL scripts and the JDBC driver on every node.

Documents 000 (central database), 003 and 004 (WSO2_USER_DB, REGISTRY_DB,
REGISTRY_LOCALn, the broker's MB store). Departures: CREATE USER then GRANT (E1),
one set of names from the params (E2), mysql5.7.sql where the server needs it and
each script sourced once (E4, E6), latin1 by default (E4, E5), the real lib path
(E7; the driver jar: jdbc_driver.py). Grants name each database with '_' escaped, so `REGISTRY_DB`.* does not also
cover REGISTRYxDB: the application user reaches the cluster's databases only.
"""

from __future__ import annotations

import hashlib
import posixpath
import threading
from dataclasses import dataclass, replace

from ...core.change import Change
from ...core.context import Run
from ...core.errors import RunbookError
from ...core.step import Check, Checks, Operation, Plan
from ...facts.mysql import client_session, database_charset, databases, grant_objects, grants, like_escape, \
    needs_57_script, tables
from ...operations.mysql import ensure_database, ensure_grant, ensure_user, source_script_once
from ...params import NodeView
from ...params.derive import db_address
from ...products import spec_for
from ...remote import fanout
from ...remote.db import Db
from ...remote.sqlsplit import create_table_names, split_sql
from ..nodes.datasources import BROKERS, DS_ROLES

DB_ROLES = DS_ROLES + BROKERS  # the nodes that use the cluster's databases (03 creates them all, brokers too)


@dataclass(frozen=True)
class DbSpec:
    """One database: its name, what it is for, which script fills it, and the node
    whose product home ships that script (scripts live on the nodes, not here)."""

    name: str
    purpose: str
    kind: str  # "kernel" (user store/registry tables) or "mb" (message-broker store)
    source: NodeView


@dataclass(frozen=True)
class Script:
    host: str
    path: str
    text: str
    relax_zero_dates: bool  # mysql.sql on a strict server when no mysql5.7.sql ships (E4)

    @property
    def label(self) -> str:
        return f"{self.host}:{self.path}"

    @property
    def tables(self) -> list[str]:
        return create_table_names(split_sql(self.text))


def _db_nodes(run: Run) -> list[NodeView]:
    return [v for v in run.views.values() if v.node.role in DB_ROLES]


def _mb_script(v: NodeView) -> str | None:
    """The MB store script a node's home ships: its own profile's, or (an EI
    integrator home also holds the broker profile) its home's broker profile's."""
    if v.spec.mb_store_script:
        return v.spec.mb_store_script
    homes = [spec_for(v.product.name, v.product.version, prof) for prof in v.spec.home_profiles]
    return next((s.mb_store_script for s in homes if s.mb_store_script), None)


def database_specs(run: Run, selected: bool = True) -> list[DbSpec]:
    """Every database of the cluster (derive.all_databases order); with a host
    filter that leaves out the database host, only those the selected nodes use
    (unless ``selected`` is False: the account's grants are checked as a whole)."""
    p = run.params
    nodes = _db_nodes(run)
    if p.database is None or not nodes:
        return []
    names = p.database.names
    first = next((v for v in nodes if v.node.role != "broker"), nodes[0])
    specs = [DbSpec(names.user_store, "user store", "kernel", first),
             DbSpec(names.shared_registry, "shared registry", "kernel", first)]
    specs += [DbSpec(names.local_registry[n], f"local registry of {n}", "kernel", run.views.get(n, first))
              for n in sorted(names.local_registry)]
    if names.mb_store:
        shipping = [v for v in nodes if v.spec.mb_store_script] + [v for v in nodes if _mb_script(v)]
        if not shipping:
            raise RunbookError(f"database.names.mb_store {names.mb_store}: no node's product ships mysql-mb.sql",
                               fix="remove mb_store or add the broker nodes")
        specs.append(DbSpec(names.mb_store, "message broker store", "mb", shipping[0]))
    unique = [s for i, s in enumerate(specs) if s.name not in {x.name for x in specs[:i]}]
    if not selected or not run.only or p.database.host in run.only:
        return unique
    chosen = run.selected_nodes(DB_ROLES)
    wanted = {names.user_store, names.shared_registry} if chosen else set()
    wanted |= {names.local_registry[v.name] for v in chosen if v.name in names.local_registry}
    if names.mb_store and any(v.node.role == "broker" for v in chosen):
        wanted.add(names.mb_store)
    return [s for s in unique if s.name in wanted]


def read_script(run: Run, spec: DbSpec, server_version: str) -> Script:
    """The script for SPEC as shipped on its node's host: mysql5.7.sql where the server
    needs it (E4/E6), else mysql.sql; the broker profile ships only mysql.sql under
    wso2/broker/dbscripts, so the EI home's dbscripts/ is tried too."""
    v = spec.source
    if spec.kind == "mb":
        candidates = [(_mb_script(v) or "", False)]
    else:
        dirs = list(dict.fromkeys([v.layout.dbscripts, "dbscripts"]))
        strict = needs_57_script(server_version)
        candidates = [(f"{d}/mysql5.7.sql", False) for d in dirs if strict]
        candidates += [(f"{d}/mysql.sql", strict) for d in dirs]
    h = run.host(v.host_name)
    for rel, relax in candidates:
        data = h.read_file(v.path(rel))
        if data is not None:
            return Script(v.host_name, v.path(rel), data.decode("utf-8", errors="replace"), relax)
    tried = ", ".join(v.path(r) for r, _ in candidates)
    raise RunbookError(f"{v.host_name}: no SQL script for {spec.name} ({tried})", fix=f"check nodes.{v.name}.home "
                       "and that the product is unpacked there")


class _Admin:
    """The admin connection (direct, or through database.tunnel_via), opened
    on first use; one per thread, so databases can be made concurrently
    (a connection is never shared between threads). Scripts cached."""

    def __init__(self, run: Run) -> None:
        self.run, self._local, self._scripts = run, threading.local(), {}
        self._lock, self._all = threading.Lock(), []  # type: threading.Lock, list[Db]

    def __call__(self) -> Db:
        db = getattr(self._local, "db", None)
        if db is None:
            d = self.run.params.database
            db = self._local.db = self.run.db_connect(d.admin_user, self.run.secret(d.admin_password.secret))
            with self._lock:
                self._all.append(db)
        return db

    def close(self) -> None:
        with self._lock:
            for db in self._all:
                db.close()
            self._all = []
        self._local = threading.local()

    def script(self, spec: DbSpec) -> Script:
        key = (spec.kind, spec.source.name)
        with self._lock:  # read once, from one thread: a node host's connection is not shared
            if key not in self._scripts:
                self._scripts[key] = read_script(self.run, spec, self().server_version())
            return self._scripts[key]

    def group(self, spec: DbSpec) -> str | None:
        """Each database's operations form a group of their own, run concurrently
        with the other databases' (fanout); through an SSH tunnel, one at a time."""
        return None if self.run.params.database.tunnel_via else f"database {spec.name}"


def _database_op(admin: _Admin, spec: DbSpec, charset: str) -> Operation:
    def fn(dry: bool) -> Change:
        change = ensure_database(admin(), spec.name, charset=charset, dry_run=dry)
        return replace(change, target=f"database {spec.name} ({spec.purpose})")
    return Operation(f"database {spec.name}", fn, admin.group(spec), on=admin.run.params.database.host)


def _source_op(admin: _Admin, spec: DbSpec) -> Operation:
    """Source once; the plan shows USE + SOURCE <file on the node> (with its sha256)
    rather than the script's hundred statements."""
    def fn(dry: bool) -> Change:
        s = admin.script(spec)
        change = source_script_once(admin(), spec.name, s.text, s.label, dry_run=dry,
                                    relax_zero_dates=s.relax_zero_dates)
        target = f"tables in {spec.name} from {posixpath.basename(s.path)}"
        if not change.changed:
            return Change(target, False, change.summary)
        sha = hashlib.sha256(s.text.encode()).hexdigest()[:16]
        mode = [c for c in change.commands[1:2] if c.startswith("SET SESSION sql_mode")]
        commands = (change.commands[0], *mode, f"SOURCE {s.label}  -- sha256 {sha}...")
        note = " (no mysql5.7.sql shipped: mysql.sql, zero dates allowed for this session, E4)" \
            if s.relax_zero_dates else ""
        return Change(target, True, change.summary + note, commands=commands)
    return Operation(f"script into {spec.name}", fn, admin.group(spec), on=admin.run.params.database.host)


def plan_databases(run: Run) -> Plan:
    """Create each database (params charset) and source its script once."""
    admin, ops = _Admin(run), []
    for spec in database_specs(run):
        ops += [_database_op(admin, spec, run.params.database.charset), _source_op(admin, spec)]
    return Plan("03 databases and their tables", ops, after=admin.close)


def plan_app_user(run: Run) -> Plan:
    """The application user (E1: CREATE USER, then GRANT) with ALL on each cluster
    database, named literally ('_' escaped), and nothing else."""
    d = run.params.database
    if d is None:
        return Plan("03 application user and grants", [])
    admin, password = _Admin(run), run.secret(d.app_password.secret)
    ops = [Operation(f"user {d.app_user}", lambda dry: ensure_user(admin(), d.app_user, d.app_user_host,
                                                                    password, dry_run=dry), on=d.host)]
    for spec in database_specs(run):
        ops.append(Operation(f"grant on {spec.name}", lambda dry, n=spec.name: ensure_grant(
            admin(), "ALL", n, d.app_user, d.app_user_host, dry_run=dry, literal=True), on=d.host))
    return Plan("03 application user and grants", ops)


# ---------------------------------------------------------------- verification

def verify_databases(run: Run) -> Checks:
    """Each database exists with the intended charset and holds every table its script creates."""
    d, checks = run.params.database, []
    specs = database_specs(run)
    if d is None or not specs:
        return Checks("03 databases", [])
    admin = _Admin(run)
    db, where = admin(), d.host
    present = databases(db)
    for spec in specs:
        cs = database_charset(db, spec.name) if spec.name in present else ""
        checks.append(Check(where, f"{spec.name} ({spec.purpose}) charset", d.charset, cs or "(no database)",
                            cs.lower() == d.charset, "run the databases step (apply=True); an existing database "
                            "with another charset must be dropped and recreated while empty (E4/E5)"))
        s = admin.script(spec)
        want = s.tables
        have = {t.upper() for t in tables(db, spec.name)} if spec.name in present else set()
        missing = [t for t in want if t.upper() not in have]
        found = f"{len(want) - len(missing)} of {len(want)}" + (f", missing {', '.join(missing[:3])}" if missing
                                                                  else "")
        checks.append(Check(where, f"{spec.name}: tables of {posixpath.basename(s.path)}", f"{len(want)} of "
                            f"{len(want)}", found, not missing, "drop the database and apply again: the script "
                            "is not re-runnable (E4)"))
    admin.close()
    return Checks("03 databases", checks)


def _differences(want: dict[str, set[str]], have: dict[str, set[str]]) -> str:
    """'as intended', or what is missing / extra (a privilege set per object)."""
    missing = [k for k in sorted(want) if not want[k] <= have.get(k, set())]
    extra = [k for k in sorted(have) if k not in want or have[k] - want[k]]
    parts = ([f"missing {', '.join(missing)}"] if missing else []) + ([f"extra {', '.join(extra)}"] if extra else [])
    return "; ".join(parts) or "as intended"


def _intended_grants(run: Run) -> dict[str, set[str]]:
    return {"*.*": {"USAGE"}, **{f"{like_escape(s.name)}.*": {"ALL PRIVILEGES"}
                                 for s in database_specs(run, selected=False)}}


def verify_app_user(run: Run) -> Checks:
    """Grants exactly as intended; the user logs in from each node's host, sees only
    the cluster's databases and is refused on `mysql`."""
    d = run.params.database
    if d is None:
        return Checks("03 application user", [])
    acct = f"{d.app_user}@{d.app_user_host}"
    admin = _Admin(run)
    have = grant_objects(grants(admin(), d.app_user, d.app_user_host))
    admin.close()
    want = _intended_grants(run)
    n = len(want) - 1
    checks = [Check(d.host, f"grants of {acct}", f"USAGE on *.*, ALL on the {n} cluster databases only",
                    _differences(want, have) if have else "(no such account)", have == want,
                    "apply the application-user step; REVOKE any grant listed as extra")]
    password, names = run.secret(d.app_password.secret), sorted(s.name for s in database_specs(run, False))

    def one(host: str) -> list[Check]:
        # One login per host (issue 23: two at 128 workers cost a second): the databases it
        # sees, then `USE mysql`, which the server must refuse (1044); the client stops there.
        ok, out, error = client_session(run.host(host), db_address(run.params), d.port, d.app_user, password,
                                        "SHOW DATABASES; USE mysql")
        logged_in = ok or "1044" in error
        seen = {x for x in out.split("\n") if x and x != "information_schema"} if logged_in else set()
        found = _differences({x: set() for x in names}, {x: set() for x in seen}) if logged_in else error
        refused = not ok and "1044" in error
        return [Check(host, f"{d.app_user} logs in and sees", f"the {len(names)} cluster databases only",
                      found, logged_in and seen == set(names), f"check that {acct} covers this host's address "
                      "and that the grants are as intended", via=(d.host,)),
                Check(host, f"{d.app_user} on database mysql", "refused (1044)",
                      "refused (1044)" if refused else (error if not ok else "allowed"), refused,
                      "revoke the extra grants: the application user must reach the cluster's databases only",
                      via=(d.host,))]
    checks += fanout.map_hosts(list(dict.fromkeys(v.host_name for v in run.selected_nodes(DB_ROLES))),
                               lambda h: h, one)
    return Checks("03 application user", checks)


