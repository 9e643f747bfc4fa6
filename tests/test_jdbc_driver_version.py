"""Issue 18 item 4: the JDBC driver jar's version, read from its manifest, against
the datasources' URL scheme. MariaDB Connector/J 3.x refuses `jdbc:mysql:` URLs
unless `permitMysqlScheme` is set (MariaDB's Connector/J documentation); 2.x
takes both schemes. The 2.x jar is the lab's own, Debian's libmariadb-java; no
reachable package ships 3.x, so its jar is built here with the manifest layout
of the 2.x jar (OSGi Bundle-* headers, continuation lines included) and the
version changed: that layout is an assumption for 3.x, which is why the reader
also takes Implementation-Title/-Version."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml

from runbook_lib.facts.jar import driver_jar, manifest_of, manifest_on, parse_manifest
from runbook_lib.params import load_params
from runbook_lib.params.derive import jdbc_url
from runbook_lib.sections.db import jdbc_driver as J

from .conftest import ROOT

DEBIAN_JAR = Path("/usr/share/java/mariadb-java-client.jar")  # libmariadb-java (2.x)


def connector_j_jar(version: str, implementation_only: bool = False) -> bytes:
    """A jar whose manifest has the real Connector/J layout, for VERSION."""
    if implementation_only:
        mf = (f"Manifest-Version: 1.0\r\nImplementation-Title: mariadb-java-client\r\n"
              f"Implementation-Version: {version}\r\n\r\n")
    else:
        mf = ("Manifest-Version: 1.0\r\nCreated-By: Apache Maven 3.8.6\r\nBuild-Jdk: 11.0.16\r\n"
              "Automatic-Module-Name: org.mariadb.jdbc\r\nBundle-ManifestVersion: 2\r\n"
              "Bundle-Name: mariadb-java-client\r\nBundle-SymbolicName: org.mariadb.jdbc\r\n"
              f"Bundle-Version: {version}\r\nExport-Package: org.mariadb.jdbc\r\n"
              "Import-Package: org.osgi.service.jdbc,org.osgi.framework,javax.naming,ja\r\n"
              " vax.management,javax.sql\r\n\r\n")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("META-INF/MANIFEST.MF", mf)
        z.writestr("META-INF/services/java.sql.Driver", "org.mariadb.jdbc.Driver\n")
        z.writestr("org/mariadb/jdbc/Driver.class", b"\xca\xfe\xba\xbe" + b"\0" * 4096)
    return buf.getvalue()


class LocalHost:
    """What manifest_on needs of a Host: an SFTP-like open(), here on local files."""

    sftp = SimpleNamespace(open=open)


def _run(tmp_path: Path, **database) -> SimpleNamespace:
    raw = yaml.safe_load((ROOT / "params/lab.yaml").read_text())
    raw["database"].update(database)
    f = tmp_path / "p.yaml"
    f.write_text(yaml.safe_dump(raw))
    return SimpleNamespace(params=load_params(f), shown_path="params/p.yaml")


@pytest.mark.skipif(not DEBIAN_JAR.is_file(), reason="libmariadb-java is not installed")
def test_debian_2x_jar_read_remotely_from_its_zip_directory() -> None:
    jar = driver_jar(manifest_on(LocalHost(), str(DEBIAN_JAR)))
    assert jar.is_mariadb and jar.major == 2 and str(jar).startswith("MariaDB Connector/J 2.")
    assert manifest_on(LocalHost(), "/nonexistent/driver.jar") is None


def test_manifest_continuation_lines_and_main_section_only() -> None:
    m = parse_manifest("A: 1\r\nLong: abc\r\n def\r\n\r\nName: x/y\r\nA: 2\r\n")
    assert m == {"A": "1", "Long": "abcdef"}


@pytest.mark.parametrize("impl", [False, True])
def test_3x_jar_with_mysql_scheme_is_refused_with_the_fix(tmp_path: Path, impl: bool) -> None:
    jar = driver_jar(manifest_of(connector_j_jar("3.3.3", impl)))
    assert jar.major == 3 and jar.is_mariadb
    run = _run(tmp_path)
    assert jdbc_url(run.params, "X").startswith("jdbc:mysql://")
    problem = J.scheme_problem(run, jar)
    assert problem == "MariaDB Connector/J 3.3.3 refuses jdbc:mysql: URLs without permitMysqlScheme"
    fix = J.scheme_fix(run)
    assert "database.url_scheme: mariadb" in fix and "permitMysqlScheme=true" in fix and "params/p.yaml" in fix


@pytest.mark.parametrize("database", [
    {"url_scheme": "mariadb"},
    {"jdbc_options": "autoReconnect=true&useSSL=false&permitMysqlScheme=true"},
])
def test_3x_jar_accepted_with_either_fix(tmp_path: Path, database: dict) -> None:
    jar = driver_jar(manifest_of(connector_j_jar("3.1.4")))
    assert J.scheme_problem(_run(tmp_path, **database), jar) is None


def test_mariadb_scheme_reaches_every_url(tmp_path: Path) -> None:
    run = _run(tmp_path, url_scheme="mariadb")
    assert jdbc_url(run.params, "REGISTRY_DB").startswith("jdbc:mariadb://")
    from runbook_lib.facts.mysql import parse_jdbc_url
    assert parse_jdbc_url(jdbc_url(run.params, "REGISTRY_DB"))[2] == "REGISTRY_DB"


def test_2x_jar_takes_mysql_scheme(tmp_path: Path) -> None:
    jar = driver_jar(manifest_of(connector_j_jar("2.7.6")))
    assert J.scheme_problem(_run(tmp_path), jar) is None


def test_permit_false_is_not_a_permit(tmp_path: Path) -> None:
    jar = driver_jar(manifest_of(connector_j_jar("3.0.8")))
    assert J.scheme_problem(_run(tmp_path, jdbc_options="permitMysqlScheme=false"), jar)


def test_mysql_connector_with_mariadb_scheme_is_refused(tmp_path: Path) -> None:
    jar = driver_jar(parse_manifest("Implementation-Title: MySQL Connector/J\nImplementation-Version: 8.0.33\n"))
    run = _run(tmp_path, url_scheme="mariadb")
    assert "only MariaDB's driver accepts jdbc:mariadb:" in J.scheme_problem(run, jar)
    assert "database.driver_jar to MariaDB Connector/J" in J.scheme_fix(run)
    assert J.scheme_problem(_run(tmp_path), jar) is None  # jdbc:mysql: is MySQL's own scheme
