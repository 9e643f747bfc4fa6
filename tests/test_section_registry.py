"""04_registry_mount: the files on the lab's node hosts, and the same edits on
every product layout's shipped files (skeletons and the real upstream files)."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest

import runbook_lib as rb
from runbook_lib.configedit import Remove, SetText, apply_xml_edits, get_values
from runbook_lib.params import jdbc_url
from runbook_lib.core.valuemask import mask_value
from runbook_lib.facts.jar import driver_class
from runbook_lib.sections.db import server as D, jdbc_driver as J
from runbook_lib.sections.nodes import datasources as DS
from runbook_lib.sections.nodes import registry as R
from runbook_lib.sections.shared.filestep import FileStep

from .nbrun import papermill
from .conftest import PARAMS_LAB, ROOT, UPSTREAM

pytestmark = pytest.mark.lab
SKELETONS = ROOT / "runbook_lib" / "lab" / "skeletons"
EXAMPLES = sorted((ROOT / "params").glob("*.yaml"))
W3 = "/opt/wso2/worker3/wso2ei-6.1.1/conf"
MDS, REG, UM = f"{W3}/datasources/master-datasources.xml", f"{W3}/registry.xml", f"{W3}/user-mgt.xml"
DSX = "/datasources-configuration/datasources/datasource"
URL = "jdbc:mysql://carbondb.mysql-wso2.com:3306/{}?autoReconnect=true&useSSL=false"


@pytest.fixture(scope="module")
def run(lab):
    r = rb.open_run(PARAMS_LAB, apply=True)
    for plan in (D.plan_databases(r), D.plan_app_user(r), J.plan_driver(r)):  # 04 needs 03's state
        plan.apply()
    yield r
    r.close()


def _sha(host, path: str) -> str:
    return hashlib.sha256(host.read_file(path)).hexdigest()


def _edit(host, path: str, edits: list) -> None:
    """Break a file on purpose with the same byte-preserving editor (no backup files)."""
    host.write_file(path, apply_xml_edits(host.read_file(path), edits, path).data, backup=False)


ALL = DS.DS_ROLES + DS.BROKERS  # 04's nodes and 07's brokers: the same steps


def _plans(run) -> list[rb.Plan]:
    return [R.plan_hosts(run, ALL), DS.plan_datasources(run, ALL), R.plan_registry(run, ALL)]


def _failed(checks: rb.Checks) -> dict[str, rb.Check]:
    return {c.what: c for c in checks.failed}


def test_from_the_shipped_files_preview_apply_converge(run, lab_hosts, lab_secrets):
    """worker3 back to the files as shipped; a preview changes nothing, apply makes the
    change, a second apply changes nothing and leaves the bytes identical."""
    h = lab_hosts["node132"]
    skel = SKELETONS / "ei-6.1.1" / "conf"
    h.write_file(MDS, (skel / "datasources/master-datasources.xml").read_bytes(), backup=False)
    h.write_file(REG, (skel / "registry.xml").read_bytes(), backup=False)
    _edit(h, UM, [SetText(DS.USER_MGT_DS, "jdbc/WSO2CarbonDB")])
    only = rb.open_run(PARAMS_LAB, apply=True, hosts="worker3")
    try:
        R.plan_hosts(only).apply()  # the database alias line: this test is about the three files
        before = {p: _sha(h, p) for p in (MDS, REG, UM)}
        previews = [p.preview() for p in _plans(only)]
        assert {p: _sha(h, p) for p in (MDS, REG, UM)} == before
        assert [len(r.changed) for r in previews] == [0, 1, 2]
        text = "\n".join(r.text() for r in previews) + "".join(r._repr_html_() for r in previews)
        # Secure Vault on in params/lab.yaml (issue 19): `password` and its alias, masked by its place
        assert ('+                    <password svns:secretAlias="Datasources.REGISTRY_LOCAL4.Configuration.Password">'
                f'{mask_value("password")}</password>') in text
        assert lab_secrets["DB_APP_PASSWORD"] not in text
        assert "<password>wso2carbon</password>" not in text  # the shipped H2 password: masked by its place
        assert "-                    <url>jdbc:h2:./repository/database/WSO2CARBON_DB;" in text
        assert f"+                    <url>{URL.format('REGISTRY_LOCAL4').replace('&', '&amp;')}</url>" in text

        applied = [p.apply() for p in _plans(only)]
        assert [len(r.changed) for r in applied] == [0, 1, 2]
        mds = h.read_file(MDS)
        assert get_values(mds, f"{DSX}/name") == ["WSO2_USER_DB", "REGISTRY_DB", "REGISTRY_LOCAL4"]
        assert get_values(mds, f"{DSX}/jndiConfig/name") == ["jdbc/WSO2UMDB", "jdbc/WSO2RegistryDB",
                                                             "jdbc/WSO2CarbonDB"]
        assert get_values(mds, f"{DSX}[name='REGISTRY_LOCAL4']/definition/configuration/url") == \
            [URL.format("REGISTRY_LOCAL4")]
        assert b"&amp;useSSL=false" in mds and b"jdbc:h2" not in mds.split(b"<datasources>")[1]
        # Secure Vault (params/lab.yaml): the file never holds the password, only its alias
        assert set(get_values(mds, f"{DSX}/definition/configuration/password")) == {"password"}
        assert lab_secrets["DB_APP_PASSWORD"].encode() not in mds
        assert set(get_values(mds, f"{DSX}/definition/configuration/driverClassName")) == {"org.mariadb.jdbc.Driver"}
        reg = h.read_file(REG)
        assert reg.count(b"\r\n") == reg.count(b"\n")  # CRLF kept
        assert get_values(reg, "/wso2registry/dbConfig/@name") == ["wso2registry", "sharedregistry"]
        ri = "/wso2registry/remoteInstance"
        assert get_values(reg, f"{ri}/cacheId") == ["wso2carbon@" + URL.format("REGISTRY_DB")]  # E8
        assert get_values(reg, f"{ri}/readOnly") == ["true"]  # a worker
        assert get_values(reg, "/wso2registry/mount/targetPath") == ["/_system/eiconfig", "/_system/governance"]
        assert get_values(h.read_file(UM), DS.USER_MGT_DS) == ["jdbc/WSO2UMDB"]

        settled = {p: _sha(h, p) for p in (MDS, REG, UM)}
        again = [p.apply() for p in _plans(only)]
        assert all("no changes" in r.headline() for r in again), [r.headline() for r in again]
        assert {p: _sha(h, p) for p in (MDS, REG, UM)} == settled
        for checks in (R.verify_hosts(only, ALL), DS.verify_datasources(only, ALL), R.verify_registry(only, ALL)):
            assert not checks.failed, [str(c) for c in checks.failed]
    finally:
        only.close()
        for plan in _plans(run):
            plan.apply()


def test_verification_fails_when_broken_then_apply_repairs(run, lab_hosts):
    for plan in _plans(run):
        plan.apply()
    h, home = lab_hosts["broker2"], "/opt/wso2/wso2ei-6.1.1/wso2/broker/conf"
    mds, reg, um = f"{home}/datasources/master-datasources.xml", f"{home}/registry.xml", f"{home}/user-mgt.xml"
    cfg = "definition/configuration"
    _edit(h, mds, [
        # 000's URL: H2 options in a MySQL URL (E3)
        SetText(f"{DSX}[name='REGISTRY_DB']/{cfg}/url",
                "jdbc:mysql://carbondb.mysql-wso2.com:3306/REGISTRY_DB?DB_CLOSE_ON_EXIT=FALSE;LOCK_TIMEOUT=60000"),
        SetText(f"{DSX}[name='WSO2_USER_DB']/{cfg}/password", "not-the-password"),
    ])
    _edit(h, um, [SetText(DS.USER_MGT_DS, "jdbc/NoSuchDB")])
    _edit(h, reg, [SetText("/wso2registry/remoteInstance/cacheId", "wso2carbon@jdbc:mysql://elsewhere/REGISTRY_DB"),
                   Remove("/wso2registry/mount[@path='/_system/governance']")])
    try:
        ds = _failed(DS.verify_datasources(run, ALL))
        assert ds["broker2: REGISTRY_DB URL"].found.endswith("DB_CLOSE_ON_EXIT=FALSE;LOCK_TIMEOUT=60000")
        assert "ERRATA E3" in ds["broker2: REGISTRY_DB URL"].fix
        assert ds["broker2: WSO2_USER_DB connects as wso2carbon"].found.startswith("ERROR 1045")
        assert ds["broker2: user-mgt.xml dataSource jdbc/NoSuchDB"].found == "not defined"
        assert {c.host for c in DS.verify_datasources(run, ALL).failed} == {"broker2"}
        assert not DS.verify_datasources(run).failed  # 04 alone leaves the brokers to 07
        reg_checks = _failed(R.verify_registry(run, ALL))
        assert set(reg_checks) == {"broker2: user-mgt.xml dataSource", "broker2: remoteInstance cacheId (E8)",
                                   "broker2: mount /_system/governance"}
        assert reg_checks["broker2: mount /_system/governance"].found == "(absent)"
        assert all(c.fix for c in reg_checks.values())
        previews = [p.preview() for p in _plans(run)]
        assert [[c.target for c in r.changed] for r in previews] == [[], [f"broker2:{mds}"],
                                                                     [f"broker2:{reg}", f"broker2:{um}"]]
    finally:
        for plan in _plans(run):
            plan.apply()
    for checks in (DS.verify_datasources(run, ALL), R.verify_registry(run, ALL)):
        assert not checks.failed, [str(c) for c in checks.failed]


def _shipped(dist: str, conf: str, rel: str) -> list[tuple[str, bytes]]:
    out = []
    for base in (SKELETONS, UPSTREAM):
        f = base / dist / conf / rel
        if f.exists():
            out.append((str(f.relative_to(base.parent)), f.read_bytes()))
    return out


def test_datasources_with_one_login_share_it_and_a_refused_database_is_named(run, lab_hosts, monkeypatch):
    """Issue 23: a node's datasources that log in as the same user share one client
    login (each database selected in turn); when one database is refused, each is asked
    on its own, so the check names the refused one and passes the others."""
    from runbook_lib.facts import mysql as M
    for plan in _plans(run):
        plan.apply()
    sent = []
    real = M.client_queries
    monkeypatch.setattr(DS, "client_queries", lambda h, logins: sent.append((h.name, logins)) or real(h, logins))
    ok = DS.verify_datasources(run)
    assert not ok.failed, [str(c) for c in ok.failed]
    mine = [logins for host, logins in sent if host == "node132" and any("USE `" in x[4] for x in logins)]
    assert mine and all(len(logins) == 1 for logins in mine)  # every MySQL datasource of a node: one login
    assert {"REGISTRY_DB", "WSO2_USER_DB"} <= set(re.findall(r"USE `(\w+)`", mine[0][0][4]))
    h = lab_hosts["node132"]
    _edit(h, MDS, [SetText(f"{DSX}[name='WSO2_USER_DB']/definition/configuration/url", URL.format("mysql"))])
    try:
        by_what = {c.what: c for c in DS.verify_datasources(run).checks if c.host == "node132"
                   and c.what.startswith("worker3:") and "connects as" in c.what}
        assert by_what["worker3: WSO2_USER_DB connects as wso2carbon"].found.startswith("ERROR 1044")
        assert not by_what["worker3: WSO2_USER_DB connects as wso2carbon"].ok
        assert by_what["worker3: REGISTRY_DB connects as wso2carbon"].ok
    finally:
        for plan in _plans(run):
            plan.apply()
    assert not DS.verify_datasources(run).failed


@pytest.mark.parametrize("params", EXAMPLES, ids=lambda p: p.stem)
def test_every_layout_edits_its_shipped_files(params: Path):
    """The same edits on each layout's shipped files (our skeletons and, where
    ../shared holds them, WSO2's real ones): they apply, converge, and say what we mean."""
    run = rb.open_run(params)
    nodes = [v for v in run.views.values() if v.node.role in ALL]
    assert nodes
    ds_step = FileStep("datasources", "xml", lambda r, v, d: ([], DS.datasource_wants(r, v)), ALL, named=False)
    steps = {"datasources/master-datasources.xml": ds_step, "registry.xml": R.REGISTRY_STEP,
             "user-mgt.xml": R.USER_MGT_STEP}
    for v in nodes:
        want = DS.node_datasources(run, v)
        edits = {"datasources/master-datasources.xml": DS.datasource_edits(run, v, "org.mariadb.jdbc.Driver", "pw"),
                 "registry.xml": R.registry_edits(run, v), "user-mgt.xml": R.usermgt_edits()}
        for rel, e in edits.items():
            files = _shipped(v.product.dist, v.layout.conf, rel)
            assert files, (v.product.dist, rel)
            for name, data in files:
                once = apply_xml_edits(data, e, name)
                assert once.changed and not apply_xml_edits(once.data, e, name).changed, name
                # the values the step verifies: not yet there as shipped, all there once edited
                assert not all(c.ok for c in steps[rel].checks_for(v, run, data)), name
                assert all(c.ok for c in steps[rel].checks_for(v, run, once.data)), name
                if rel.startswith("datasources"):
                    got = get_values(once.data, f"{DSX}/name")
                    assert {w.name for w in want} <= set(got) and len(got) == len(set(got)), name
                    local = any(w.jndi == DS.LOCAL_JNDI for w in want)
                    assert ("WSO2_CARBON_DB" in got) is not local, name
                    assert get_values(once.data, f"{DSX}[name='REGISTRY_DB']/definition/configuration/url") == \
                        [jdbc_url(run.params, run.params.database.names.shared_registry)]
                elif rel == "registry.xml":
                    assert get_values(once.data, "/wso2registry/remoteInstance/cacheId") == [R.cache_id(run)]
                    assert get_values(once.data, "/wso2registry/dbConfig[@name='wso2registry']/dataSource") == \
                        ["jdbc/WSO2CarbonDB"]  # 003: the local dbConfig stays
                else:
                    assert get_values(once.data, DS.USER_MGT_DS) == ["jdbc/WSO2UMDB"]
    run.close()


def test_driver_class_comes_from_the_jar(lab_hosts):
    jar = lab_hosts["node206"].read_file("/usr/share/java/mariadb-java-client.jar")
    assert driver_class(jar, "/x/mariadb-java-client.jar") == "org.mariadb.jdbc.Driver"
    assert driver_class(None, "/x/mysql-connector-java-5.1.49.jar") == "com.mysql.jdbc.Driver"


def test_notebook_runs_headless(run, lab_secrets, tmp_path):
    out = tmp_path / "04.ipynb"
    res, text = papermill("04_registry_mount.ipynb", out, "-p", "apply", "True")
    assert res.returncode == 0, res.stderr[-3000:]
    for line in ("04 database alias: 2 passed, 0 failed",  # the brokers' hosts, datasources and registry: 07
                 "04 registry and user store: 28 passed, 0 failed",
                 "04 datasources: no changes - everything already as intended (4 checked)"):
        assert line in text, line
    assert re.search(r"04 datasources: \d+ passed, 0 failed", text)
    assert lab_secrets["DB_APP_PASSWORD"] not in out.read_text()
