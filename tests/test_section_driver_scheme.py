"""03 on the lab: the driver jar's version read from its manifest on each node
host (over SFTP, the zip's directory and one entry), against the datasources'
URL scheme. The lab's jar is Debian's libmariadb-java (Connector/J 2.x); the
3.x jar is built by the test (tests/test_jdbc_driver_version.py says how) and
put on every node host."""

from __future__ import annotations

import pytest
import yaml

import runbook_lib as rb
from runbook_lib.core.errors import RunbookError
from runbook_lib.sections.db import jdbc_driver as J

from .conftest import PARAMS_LAB
from .test_jdbc_driver_version import connector_j_jar

pytestmark = pytest.mark.lab
JAR3 = "/home/wso2/mariadb-java-client-3.3.3.jar"


def _params(tmp_path, **database):
    raw = yaml.safe_load(PARAMS_LAB.read_text())
    raw["database"].update(database)
    f = tmp_path / "driver.yaml"
    f.write_text(yaml.safe_dump(raw))
    return f


def test_lab_2x_driver_accepts_mysql_urls(lab):
    run = rb.open_run(PARAMS_LAB)
    try:
        report = J.plan_driver_scheme(run).preview()
        assert report.changes and not any(c.changed for c in report.changes)
        assert all("MariaDB Connector/J 2." in c.summary and "accepts jdbc:mysql:" in c.summary
                   for c in report.changes), [c.summary for c in report.changes]
        checks = J.verify_driver_scheme(run)
        assert checks.checks and not checks.failed
    finally:
        run.close()


def test_3x_driver_with_mysql_urls_is_refused_then_either_fix_passes(lab, tmp_path):
    run = rb.open_run(_params(tmp_path, driver_jar=JAR3))
    try:
        hosts = list(dict.fromkeys(h for h, _ in J._jar_targets(run)))
        for h in hosts:
            run.host(h).write_file(JAR3, connector_j_jar("3.3.3"), mode=0o644, backup=False)
        with pytest.raises(RunbookError) as e:
            J.plan_driver_scheme(run).preview()
        assert "MariaDB Connector/J 3.3.3 refuses jdbc:mysql: URLs without permitMysqlScheme" in str(e.value)
        assert "database.url_scheme: mariadb" in e.value.fix and "permitMysqlScheme=true" in e.value.fix
        failed = J.verify_driver_scheme(run).failed
        assert sorted(ch.host for ch in failed) == sorted(hosts)
    finally:
        run.close()
    try:
        for fix in ({"url_scheme": "mariadb"},
                    {"jdbc_options": "autoReconnect=true&useSSL=false&permitMysqlScheme=true"}):
            run = rb.open_run(_params(tmp_path, driver_jar=JAR3, **fix))
            try:
                assert not J.verify_driver_scheme(run).failed
                assert all("3.3.3" in c.summary for c in J.plan_driver_scheme(run).preview().changes)
            finally:
                run.close()
    finally:
        run = rb.open_run(PARAMS_LAB)
        try:
            for h in hosts:
                run.host(h).run("rm -f %s", JAR3)
        finally:
            run.close()
