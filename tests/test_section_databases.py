"""03_databases against the lab: real MariaDB state (pymysql), real jars on the node hosts."""

from __future__ import annotations

import secrets

import pytest
import yaml

import runbook_lib as rb
from runbook_lib.remote.db import Db
from runbook_lib.core.errors import RunbookError
from runbook_lib.facts import mysql as F
from runbook_lib.sections.db import server as X
from runbook_lib.sections.db import jdbc_driver as J

from .nbrun import papermill
from .conftest import PARAMS_LAB, lab_ip

pytestmark = pytest.mark.lab
JAR = "/usr/share/java/mariadb-java-client.jar"
CLUSTER = ["WSO2_USER_DB", "REGISTRY_DB", "REGISTRY_LOCAL_B1", "REGISTRY_LOCAL_B2", "REGISTRY_LOCAL1",
           "REGISTRY_LOCAL2", "REGISTRY_LOCAL3", "REGISTRY_LOCAL4", "WSO2_MB_DB"]
APP = "wso2carbon"


def app_host() -> str:
    return lab_ip("198.51.100.%")  # the params' app_user_host, as the lab instance has it


@pytest.fixture(scope="module")
def run(lab):
    r = rb.open_run(PARAMS_LAB, apply=True)
    yield r
    r.close()


@pytest.fixture(scope="module")
def admin(lab_mysql):
    with Db.connect(**lab_mysql) as db:
        yield db


def _apply_all(run) -> list[rb.Report]:
    return [X.plan_databases(run).apply(), X.plan_app_user(run).apply(), J.plan_driver(run).apply()]


def _jar(lab_hosts, host: str, path: str) -> str | None:
    return lab_hosts[host].file(path).sha256


def _state(admin: Db, lab_hosts) -> dict:
    """Everything the section controls: databases, their tables, the app user's grants, the jars."""
    present = F.databases(admin)
    jars = {f"{h}:{p}": _jar(lab_hosts, h, p) for h, p in [
        ("node206", "/opt/wso2/manager/wso2ei-6.1.1/lib/mariadb-java-client.jar"),
        ("node132", "/opt/wso2/worker3/wso2ei-6.1.1/lib/mariadb-java-client.jar"),
        ("broker2", "/opt/wso2/wso2ei-6.1.1/lib/mariadb-java-client.jar")]}
    return {"tables": {d: sorted(F.tables(admin, d)) for d in CLUSTER if d in present},
            "grants": sorted(F.grants(admin, APP, app_host())), "jars": jars}


def _failed(checks: rb.Checks) -> list[str]:
    return [f"{c.host}: {c.what}: {c.found}" for c in checks.failed]


def test_database_specs_follow_params_and_host_filter(run):
    assert [s.name for s in X.database_specs(run)] == CLUSTER
    kinds = {s.name: (s.kind, s.source.name) for s in X.database_specs(run)}
    assert kinds["WSO2_MB_DB"] == ("mb", "broker1") and kinds["REGISTRY_LOCAL3"] == ("kernel", "worker2")
    only = rb.open_run(PARAMS_LAB, hosts="broker2")
    assert [s.name for s in X.database_specs(only)] == ["WSO2_USER_DB", "REGISTRY_DB", "REGISTRY_LOCAL_B2",
                                                        "WSO2_MB_DB"]
    assert J._jar_targets(only) == [("broker2", "/opt/wso2/wso2ei-6.1.1/lib/mariadb-java-client.jar")]
    assert [s.name for s in X.database_specs(rb.open_run(PARAMS_LAB, hosts="db"))] == CLUSTER


def test_preview_changes_nothing_then_apply_then_no_changes(run, admin, lab_hosts):
    _apply_all(run)
    # take three things away: a database, a grant, a jar
    admin.execute("DROP DATABASE IF EXISTS `REGISTRY_LOCAL_B2`")
    admin.execute("REVOKE ALL PRIVILEGES ON `REGISTRY\\_LOCAL4`.* FROM %s@%s", (APP, app_host()))
    broker2_jar = "/opt/wso2/wso2ei-6.1.1/lib/mariadb-java-client.jar"
    lab_hosts["broker2"].check("rm -f %s", broker2_jar)
    before = _state(admin, lab_hosts)
    previews = [X.plan_databases(run).preview(), X.plan_app_user(run).preview(), J.plan_driver(run).preview()]
    assert _state(admin, lab_hosts) == before  # a preview changes nothing
    text = "\n".join(r.text() for r in previews)
    assert "database REGISTRY_LOCAL_B2 (local registry of broker2): would create (latin1)" in text
    assert "$ CREATE DATABASE `REGISTRY_LOCAL_B2` CHARACTER SET latin1" in text
    assert "$ SOURCE broker2:/opt/wso2/wso2ei-6.1.1/dbscripts/mysql5.7.sql" in text  # E4: the broker ships no 5.7
    assert f"$ GRANT ALL PRIVILEGES ON `REGISTRY\\_LOCAL4`.* TO 'wso2carbon'@'{app_host()}'" in text
    assert f"$ install -m 0644 {JAR} {broker2_jar}" in text
    assert [len(r.changed) for r in previews] == [2, 1, 1]

    applied = _apply_all(run)
    assert [len(r.changed) for r in applied] == [2, 1, 1]
    assert {"UM_USER", "UM_TENANT", "REG_RESOURCE", "REG_PATH"} <= F.tables(admin, "REGISTRY_LOCAL_B2")
    assert F.database_charset(admin, "REGISTRY_LOCAL_B2") == "latin1"
    assert F.grant_objects(F.grants(admin, APP, app_host()))["REGISTRY\\_LOCAL4.*"] == {"ALL PRIVILEGES"}
    assert _jar(lab_hosts, "broker2", broker2_jar) == _jar(lab_hosts, "broker2", JAR)

    settled = _state(admin, lab_hosts)
    again = _apply_all(run)
    assert all("no changes - everything already as intended" in r.headline() for r in again), \
        [r.headline() for r in again]
    assert _state(admin, lab_hosts) == settled
    for checks in (X.verify_databases(run), X.verify_app_user(run), J.verify_driver(run)):
        assert not checks.failed, _failed(checks)


def test_every_cluster_database_has_its_script_tables(run, admin):
    _apply_all(run)
    for name in CLUSTER:
        have = F.tables(admin, name)
        if name == "WSO2_MB_DB":
            assert {"MB_QUEUE_MAPPING", "MB_METADATA", "MB_CONTENT", "MB_SLOT"} <= have
        else:
            assert {"UM_USER", "UM_ROLE", "REG_RESOURCE", "REG_LOG"} <= have, name


def test_half_sourced_database_fails_verification_and_is_never_resourced(run, admin):
    _apply_all(run)
    admin.execute("DROP TABLE `REGISTRY_LOCAL_B2`.`REG_LOG`")
    try:
        checks = X.verify_databases(run)
        bad = [c for c in checks.failed]
        assert [c.what for c in bad] == ["REGISTRY_LOCAL_B2: tables of mysql5.7.sql"]
        assert bad[0].found == "18 of 19, missing REG_LOG" and "drop the database" in bad[0].fix
        with pytest.raises(RunbookError, match="not re-runnable"):
            X.plan_databases(run).preview()
    finally:
        admin.execute("DROP DATABASE `REGISTRY_LOCAL_B2`")
        X.plan_databases(run).apply()
    assert not X.verify_databases(run).failed


@pytest.mark.parametrize("grant, extra", [
    ("GRANT SELECT ON `mysql`.* TO %s@%s", "mysql.*"),
    # unescaped, `_` is a wildcard: this one would also cover REGISTRYxLOCAL1
    ("GRANT ALL PRIVILEGES ON `REGISTRY_LOCAL1`.* TO %s@%s", "REGISTRY_LOCAL1.*"),
])
def test_extra_grants_fail_verification(run, admin, grant, extra):
    _apply_all(run)
    admin.execute(grant, (APP, app_host()))
    try:
        checks = X.verify_app_user(run)
        failed = {c.what: c for c in checks.failed}
        assert failed[f"grants of {APP}@{app_host()}"].found == f"extra {extra}"
        assert "REVOKE" in failed[f"grants of {APP}@{app_host()}"].fix
        if extra == "mysql.*":  # and the login from every node host proves it
            assert {c.host for c in checks.failed if c.what.endswith("on database mysql")} == \
                {"node206", "node132", "broker1", "broker2"}
            assert all(c.found == "allowed" for c in checks.failed if c.what.endswith("on database mysql"))
    finally:
        admin.execute(grant.replace("GRANT", "REVOKE").replace(" TO ", " FROM "), (APP, app_host()))
    assert not X.verify_app_user(run).failed


def test_changed_jar_fails_verification_and_is_replaced(run, lab_hosts):
    _apply_all(run)
    dest = "/opt/wso2/wso2ei-6.1.1/lib/mariadb-java-client.jar"
    lab_hosts["broker1"].write_file(dest, b"not a jar", backup=False)
    checks = J.verify_driver(run)
    assert [(c.host, c.found) for c in checks.failed] == [("broker1", "differs")]
    change = [c for c in J.plan_driver(run).apply().changed]
    assert [c.target for c in change] == [f"broker1:{dest}"] and "replaced" in change[0].summary
    assert not J.verify_driver(run).failed


def test_a_fresh_cluster_from_nothing(lab, admin, tmp_path):
    """The whole section on databases and a user that do not exist yet (other names)."""
    p = yaml.safe_load(PARAMS_LAB.read_text())
    tag = "T03_" + secrets.token_hex(3).upper()
    names = p["database"]["names"]
    names["user_store"], names["shared_registry"], names["mb_store"] = f"{tag}_UM", f"{tag}_REG", f"{tag}_MB"
    names["local_registry"] = {"manager": f"{tag}_L1", "broker1": f"{tag}_LB1"}
    p["database"]["app_user"] = user = tag.lower()
    path = tmp_path / "fresh.yaml"
    path.write_text(yaml.safe_dump(p))
    fresh = rb.open_run(path, apply=True)
    dbs = [f"{tag}_UM", f"{tag}_REG", f"{tag}_LB1", f"{tag}_L1", f"{tag}_MB"]
    try:
        first = [X.plan_databases(fresh).apply(), X.plan_app_user(fresh).apply()]
        assert [len(r.changed) for r in first] == [10, 6]
        assert "CREATE USER IF NOT EXISTS" in first[1].text() and "IDENTIFIED BY '***'" in first[1].text()
        for checks in (X.verify_databases(fresh), X.verify_app_user(fresh)):
            assert not checks.failed, _failed(checks)
        seen = [c for c in X.verify_app_user(fresh).checks if c.what.endswith("logs in and sees")]
        assert len(seen) == 4 and all(c.ok for c in seen)
        again = [X.plan_databases(fresh).apply(), X.plan_app_user(fresh).apply()]
        assert [len(r.changed) for r in again] == [0, 0]
    finally:
        for d in dbs:
            admin.execute(f"DROP DATABASE IF EXISTS `{d}`")
        admin.execute("DROP USER IF EXISTS %s@%s", (user, app_host()))
        fresh.close()


def test_client_query_passes_awkward_passwords_safely(admin, lab_hosts):
    user, pw = "t_q_" + secrets.token_hex(4), "p#a\"s\\s'w;rd x" + secrets.token_hex(3)
    admin.execute("CREATE USER %s@%s IDENTIFIED BY %s", (user, app_host(), pw))
    try:
        ok, out = F.client_query(lab_hosts["node132"], lab_ip("198.51.100.10"), 3306, user, pw, "SELECT CURRENT_USER()")
        assert ok and out == f"{user}@{app_host()}"
        ok, out = F.client_query(lab_hosts["node132"], lab_ip("198.51.100.10"), 3306, user, pw + "x", "SELECT 1")
        assert not ok and out.startswith("ERROR 1045") and pw not in out
    finally:
        admin.execute("DROP USER %s@%s", (user, app_host()))


def test_notebook_runs_headless(lab, lab_secrets, tmp_path):
    out = tmp_path / "03.ipynb"
    res, text = papermill("03_databases.ipynb", out, "-p", "apply", "True")
    assert res.returncode == 0, res.stderr[-3000:]
    for line in ("03 databases: 18 passed, 0 failed", "03 application user: 9 passed, 0 failed",
                 "03 JDBC driver: 6 passed, 0 failed", "03 JDBC driver version vs URL scheme: 4 passed, 0 failed",
                 "03 databases and their tables: no changes - everything already as intended (18 checked)"):
        assert line in text, line
    raw = out.read_text()
    for name in ("DB_ADMIN_PASSWORD", "DB_APP_PASSWORD"):
        assert lab_secrets[name] not in raw
