"""03, last step: the JDBC driver jar in each node's lib directory.

Copied on the node's host from the path the params give (the Debian package's
jar in the lab) into the lib directory of the node's product spec
(repository/components/lib, or lib/ for EI: E7), compared by sha256.
"""

from __future__ import annotations

import posixpath

from ...core.change import Change
from ...core.context import Run
from ...core.errors import RunbookError
from ...core.step import Carried, Check, Checks, Operation, Plan
from ...facts.jar import DriverJar, driver_jar, manifest_on
from ...remote import fanout
from ...run.changelog import record_remote
from ..nodes.datasources import BROKERS, DS_ROLES

DB_ROLES = DS_ROLES + BROKERS  # the nodes that use the cluster's databases (03 creates them all, brokers too)


def _jar_targets(run: Run) -> list[tuple[str, str]]:
    """(host, destination) per selected node, once per lib directory."""
    jar = posixpath.basename(run.params.database.driver_jar)
    out = [(v.host_name, v.path(posixpath.join(v.layout.lib, jar))) for v in run.selected_nodes(DB_ROLES)]
    return list(dict.fromkeys(out))


def _shas(run: Run, host: str, *paths: str) -> dict[str, str]:
    res = run.host(host).run("sha256sum" + " %s" * len(paths) + " 2>/dev/null", *paths)
    return {line.split(None, 1)[1].strip(): line.split()[0] for line in res.stdout.splitlines() if " " in line}


def _jar_op(run: Run, host: str, dest: str) -> Operation:
    src = run.params.database.driver_jar

    read = Carried(lambda: _shas(run, host, src, dest))

    def fn(dry: bool) -> Change:
        h, target = run.host(host), f"{host}:{dest}"
        shas = read.get(dry)
        if src not in shas:
            raise RunbookError(f"{host}: {src} is missing", fix="install the JDBC driver there (Debian: apt-get "
                               "install libmariadb-java) or set database.driver_jar")
        if shas.get(dest) == shas[src]:
            return Change(target, False, f"already the driver jar (sha256 {shas[src][:16]}...)")
        if not h.file(posixpath.dirname(dest)).is_dir:
            raise RunbookError(f"{host}: {posixpath.dirname(dest)} does not exist", fix="check the node's home")
        cmd = f"install -m 0644 {src} {dest}"
        if not dry:
            backup = h.backup(dest) if dest in shas else None  # the jar it replaces, for `runbook rollback`
            h.check("install -m 0644 %s %s", src, dest)
            record_remote(h, dest, existed=dest in shas, backup=backup)
        verb = ("would replace" if dry else "replaced") if dest in shas else ("would copy" if dry else "copied")
        return Change(target, True, f"{verb} {src} (sha256 {shas[src][:16]}...)", commands=(cmd,))
    return Operation(f"{host}:{dest}", fn, host, path=dest)


def plan_driver(run: Run) -> Plan:
    """The JDBC driver jar, copied on each node's host into the node's lib directory
    (repository/components/lib, or lib/ for EI: E7), compared by sha256."""
    if run.params.database is None:
        return Plan("03 JDBC driver", [])
    return Plan("03 JDBC driver", [_jar_op(run, h, dest) for h, dest in _jar_targets(run)])


def verify_driver(run: Run) -> Checks:
    """Each node's lib directory holds the same bytes as the driver jar on its host."""
    if run.params.database is None:
        return Checks("03 JDBC driver", [])
    src = run.params.database.driver_jar

    def one(target: tuple[str, str]) -> list[Check]:
        host, dest = target
        shas = _shas(run, host, src, dest)
        found = "missing" if dest not in shas else ("same sha256" if shas[dest] == shas.get(src) else "differs")
        return [Check(host, f"{dest}", f"same sha256 as {src}", found, found == "same sha256",
                      "apply the JDBC driver step")]
    checks = fanout.map_hosts(_jar_targets(run), lambda t: t[0], one)
    return Checks("03 JDBC driver", checks)


# -- the driver's version against the URL scheme ---------------------------------------------

PERMIT = "permitMysqlScheme"


def _permits_mysql_scheme(options: str) -> bool:
    return any(k == PERMIT and v.lower() == "true" for k, _, v in (o.partition("=") for o in options.split("&")))


def scheme_problem(run: Run, jar: DriverJar) -> str | None:
    """Why JAR would refuse the datasources' URLs, or None. MariaDB Connector/J
    3.x accepts `jdbc:mysql:` only with permitMysqlScheme (MariaDB's Connector/J
    documentation, "jdbc:mysql: scheme compatibility"); 2.x accepts both schemes."""
    d = run.params.database
    if d.url_scheme == "mariadb" and jar.name and not jar.is_mariadb:
        return f"{jar} is not MariaDB Connector/J: only MariaDB's driver accepts jdbc:mariadb: URLs"
    if not (jar.is_mariadb and (jar.major or 0) >= 3 and d.url_scheme == "mysql"):
        return None
    if _permits_mysql_scheme(d.jdbc_options):
        return None
    return f"{jar} refuses jdbc:mysql: URLs without {PERMIT}"


def scheme_fix(run: Run) -> str:
    if run.params.database.url_scheme == "mariadb":
        return (f"in {run.shown_path} set database.driver_jar to MariaDB Connector/J, or database.url_scheme: "
                "mysql; then re-run 03 and 04")
    return (f"in {run.shown_path} set database.url_scheme: mariadb (URLs become jdbc:mariadb://...), or add "
            f"{PERMIT}=true to database.jdbc_options, or set database.driver_jar to a 2.x driver; "
            "then re-run 03 and 04")


def _jar_of(run: Run, host: str) -> DriverJar | None:
    m = manifest_on(run.host(host), run.params.database.driver_jar)
    return None if m is None else driver_jar(m)


def _scheme_op(run: Run, host: str) -> Operation:
    src, scheme = run.params.database.driver_jar, run.params.database.url_scheme

    def fn(dry: bool) -> Change:
        jar = _jar_of(run, host)
        if jar is None:
            raise RunbookError(f"{host}: {src} is missing", fix="install the JDBC driver there (Debian: apt-get "
                               "install libmariadb-java) or set database.driver_jar")
        problem = scheme_problem(run, jar)
        if problem:
            raise RunbookError(f"{host}:{src}: {problem}", fix=scheme_fix(run))
        return Change(f"{host}:{src}", False, f"{jar} accepts jdbc:{scheme}: URLs (read from its manifest)")
    return Operation(f"{host}:{src} version", fn, host)


def plan_driver_scheme(run: Run) -> Plan:
    """The driver jar's version, read from its manifest on each node host, against
    the URL scheme the datasources will use (nothing to change: a refusal stops here)."""
    if run.params.database is None:
        return Plan("03 JDBC driver version", [])
    hosts = list(dict.fromkeys(h for h, _ in _jar_targets(run)))
    return Plan("03 JDBC driver version vs URL scheme", [_scheme_op(run, h) for h in hosts])


def verify_driver_scheme(run: Run) -> Checks:
    """Each node host's driver jar accepts the datasources' URL scheme."""
    if run.params.database is None:
        return Checks("03 JDBC driver version", [])
    scheme = run.params.database.url_scheme

    def one(host: str) -> list[Check]:
        jar = _jar_of(run, host)
        problem = "driver jar missing" if jar is None else scheme_problem(run, jar)
        return [Check(host, f"{run.params.database.driver_jar} accepts jdbc:{scheme}: URLs",
                      f"accepts jdbc:{scheme}:", problem or f"{jar}: accepts", problem is None, scheme_fix(run))]
    hosts = list(dict.fromkeys(h for h, _ in _jar_targets(run)))
    return Checks("03 JDBC driver version vs URL scheme", fanout.map_hosts(hosts, lambda h: h, one))
