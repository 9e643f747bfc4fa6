"""The params model: every example validates, every bad file fails with its
declared problem, warnings stay warnings, derived values are right, and the
committed JSON Schema matches the model. No lab needed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from runbook_lib.core.errors import ParamsError
from runbook_lib.params import (
    all_databases,
    hosts_entries,
    jdbc_url,
    load_params,
    node_views,
    validate_file,
    well_known_members,
)
from runbook_lib.params.derive import registry_cache_id, secret_names
from runbook_lib.params.schema import export_schema, schema_text

ROOT = Path(__file__).resolve().parent.parent
PARAMS = ROOT / "params"
FIXTURES = Path(__file__).resolve().parent / "fixtures"
BAD_DIR = FIXTURES / "params_bad"
WARN_DIR = FIXTURES / "params_warn"

EXAMPLES = sorted(PARAMS.glob("*.yaml"))
BAD = sorted(BAD_DIR.glob("*.yaml"))
WARN = sorted(WARN_DIR.glob("*.yaml"))
LAYOUT_EXAMPLES = ["esb-elb-000", "as-elb-001", "ei-nginx-002", "ei-broker-003", "ei-integrator-004"]


def _runbook(*args: str) -> subprocess.CompletedProcess:
    exe = Path(sys.executable).parent / "runbook"
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "runbook_lib.cli"]
    return subprocess.run(cmd + list(args), cwd=ROOT, capture_output=True, text=True, timeout=120)


def _declared(path: Path, tag: str) -> tuple[str, str]:
    """(field, message fragment) from the file's first line `# TAG: field: fragment`."""
    first = path.read_text().splitlines()[0] if path.read_text() else ""
    prefix = f"# {tag}: "
    assert first.startswith(prefix), f"{path.name}: first line must be `{prefix}FIELD: FRAGMENT`"
    field, fragment = first[len(prefix):].split(": ", 1)
    return field, fragment


def _snapshot(*dirs: Path) -> dict[str, tuple[int, int]]:
    out = {}
    for d in dirs:
        for p in sorted(d.rglob("*")):
            st = p.stat()
            out[str(p)] = (st.st_mtime_ns, st.st_size)
        out[str(d)] = (d.stat().st_mtime_ns, 0)
    return out


# --- (a) the examples ---------------------------------------------------------

def test_one_example_per_layout():
    names = {p.stem for p in EXAMPLES}
    assert set(LAYOUT_EXAMPLES) | {"lab"} <= names
    for stem in LAYOUT_EXAMPLES:
        first = (PARAMS / f"{stem}.yaml").read_text().splitlines()[0]
        assert first == "# yaml-language-server: $schema=params.schema.json"


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_example_validates(path):
    warnings: list = []
    p = load_params(path, warnings=warnings)
    assert p.lab is not None and str(p.lab.subnet) == "198.51.100.0/24"
    assert p.secrets_file == "/tmp/wso2-runbook-lab/secrets.env"
    errors, _ = validate_file(path)
    assert errors == []
    assert not [w for w in warnings if "well-known" in w.message], warnings


def test_examples_validate_with_the_cli():
    r = _runbook("validate", *[str(p) for p in EXAMPLES])
    assert r.returncode == 0, r.stderr
    for p in EXAMPLES:
        assert f"{p}: valid" in r.stdout
    assert "error" not in r.stderr


def test_examples_express_their_layouts():
    esb = load_params(PARAMS / "esb-elb-000.yaml")
    assert (esb.product.dist, esb.load_balancer.kind) == ("esb-4.8.1", "elb")
    by_host = {h: sorted(n for n, v in esb.nodes.items() if v.host == h) for h in esb.hosts}
    assert by_host == {"node206": ["elb", "manager", "worker2"], "node132": ["worker1", "worker3"]}
    assert str(esb.hosts["node206"].address).endswith(".206") and str(esb.hosts["node132"].address).endswith(".132")
    assert esb.nodes["elb"].product.dist == "elb-2.1.0"

    as_ = load_params(PARAMS / "as-elb-001.yaml")
    assert as_.product.dist == "as-5.2.1" and as_.deployment_sync.kind == "svn"
    assert {v.host for n, v in as_.nodes.items() if v.role in ("manager", "worker")} == {"as1"}

    ei = load_params(PARAMS / "ei-nginx-002.yaml")
    assert ei.nodes["worker2"].local_member_port == 4300 and ei.load_balancer.kind == "nginx"
    assert sorted(v.role for v in ei.nodes.values()) == ["manager", "worker", "worker"]

    mb = load_params(PARAMS / "ei-broker-003.yaml")
    assert mb.load_balancer.kind == "none" and [v.role for v in mb.nodes.values()] == ["broker", "broker"]
    assert all_databases(mb) == ["WSO2_USER_DB", "REGISTRY_DB", "REGISTRY_LOCAL1", "REGISTRY_LOCAL2", "wso2_mb"]

    integ = load_params(PARAMS / "ei-integrator-004.yaml")
    assert integ.load_balancer.affinity == "ip_hash"
    assert all(v.role == "member" and v.well_known for v in integ.nodes.values())
    assert integ.database.names.local_registry == {"node1": "REGISTRY_LOCAL1", "node2": "REGISTRY_LOCAL2"}


# --- (b) the bad files ----------------------------------------------------------

def test_corpus_is_big_enough():
    assert len(BAD) >= 30
    assert len({_declared(p, "expect") for p in BAD}) == len(BAD), "two bad files expect the same problem"


@pytest.mark.parametrize("path", BAD, ids=lambda p: p.name)
def test_bad_file_reports_its_problem(path):
    field, fragment = _declared(path, "expect")
    errors, _ = validate_file(path)
    assert errors, f"{path.name} validated"
    assert any(e.field == field and fragment in e.message for e in errors), \
        f"{path.name}: expected `{field}: ...{fragment}...`, got:\n" + "\n".join(map(str, errors))
    for e in errors:
        text = str(e)
        assert str(path) in text and f": {e.field}: " in text and "Fix:" in text, text
        assert e.fix and e.level == "error"
    with pytest.raises(ParamsError) as exc:
        load_params(path)
    assert fragment in str(exc.value)


def test_bad_files_fail_with_the_cli_and_touch_nothing():
    before = _snapshot(BAD_DIR, WARN_DIR, PARAMS)
    for path in BAD:
        validate_file(path)
    r = _runbook("validate", *[str(p) for p in BAD])
    assert r.returncode == 2
    for path in BAD:
        field, fragment = _declared(path, "expect")
        assert f"{path}: valid" not in r.stdout
        assert f"error: {path}: {field}: " in r.stderr and fragment in r.stderr, path.name
    for path in BAD[:3] + [BAD_DIR / "yaml-syntax-error.yaml", BAD_DIR / "cleartext-admin-password.yaml"]:
        one = _runbook("validate", str(path))
        assert one.returncode == 2, path.name
        assert _declared(path, "expect")[1] in one.stderr
    assert _snapshot(BAD_DIR, WARN_DIR, PARAMS) == before, "validating changed files"


def test_secret_values_are_never_echoed():
    for name, value in [("cleartext-admin-password", "hunter2"), ("cleartext-svn-password", "wso2123"),
                        ("cleartext-truststore-password", "wso2carbon"), ("cleartext-password-in-svn-url", "wso2123"),
                        ("secret-name-is-the-secret", "hunter2"), ("unknown-key-secret-ref", "hunter2")]:
        errors, warnings = validate_file(BAD_DIR / f"{name}.yaml")
        assert errors
        assert not [e for e in errors + warnings if value in str(e)], name


# --- (c) warnings -----------------------------------------------------------------

@pytest.mark.parametrize("path", WARN, ids=lambda p: p.name)
def test_warning_only_file(path):
    field, fragment = _declared(path, "warn")
    errors, warnings = validate_file(path)
    assert errors == []
    assert any(w.field == field and fragment in w.message for w in warnings), warnings
    assert all(w.level == "warning" and "Fix:" in str(w) for w in warnings)
    load_params(path)  # warnings never raise
    r = _runbook("validate", str(path))
    assert r.returncode == 0, r.stderr
    assert fragment in r.stdout and f"{path}: valid" in r.stdout


def test_warning_corpus_covers_the_documents_advice():
    fragments = " ".join(_declared(p, "warn")[1] for p in WARN)
    assert "fewer than two well-known members" in fragments
    assert "ERRATA E15" in fragments


# --- (d) every problem at once ------------------------------------------------------

def _four_problems(tmp_path: Path) -> Path:
    text = (PARAMS / "esb-elb-000.yaml").read_text()
    edits = [
        ("name: esb-elb-000\n", "name: esb-elb-000\ncolour: blue\n"),  # unknown key
        ("app_password: {secret: DB_APP_PASSWORD}", "app_password: hunter2"),  # clear-text secret
        ("offset: 2, local_member_port: 4002}", "offset: 2, local_member_port: 4001}"),  # worker2 = manager's port
        ("offset: 1, local_member_port: 4001}\n  # Workers",  # worker3: E9
         "offset: 1, local_member_port: 4001, sub_domain: mgt}\n  # Workers"),
    ]
    for old, new in edits:
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    path = tmp_path / "four-problems.yaml"
    path.write_text(text)
    return path


def test_all_problems_reported_at_once(tmp_path):
    path = _four_problems(tmp_path)
    errors, _ = validate_file(path)
    got = sorted((e.field, e.message.split(" (")[0]) for e in errors)
    assert [f for f, _ in got] == ["colour", "database.app_password", "nodes.worker2.local_member_port",
                                   "nodes.worker3.sub_domain"], "\n".join(map(str, errors))
    assert "hunter2" not in "\n".join(map(str, errors))
    with pytest.raises(ParamsError) as exc:
        load_params(path)
    assert "4 problem(s)" in str(exc.value)
    r = _runbook("validate", str(path))
    assert r.returncode == 2
    assert r.stderr.count("Fix:") == 4
    assert sorted(os.listdir(tmp_path)) == ["four-problems.yaml"]


def test_structural_and_cross_section_problems_together(tmp_path):
    """A bad required field drops only its node; the rest is still checked."""
    text = (PARAMS / "ei-nginx-002.yaml").read_text()
    text = text.replace("role: worker,  home: /opt/wso2/wso2ei-6.1.1, offset: 0, local_member_port: 4300}",
                        "role: slave,  home: /opt/wso2/wso2ei-6.1.1, offset: 0, local_member_port: 4300}")
    text = text.replace("  host: db\n", "  host: mysql\n")
    path = tmp_path / "two.yaml"
    path.write_text(text)
    errors, _ = validate_file(path)
    assert sorted(e.field for e in errors) == ["database.host", "nodes.worker2.role"], "\n".join(map(str, errors))


# --- (e) derived values ------------------------------------------------------------------

def test_derived_values_lab():
    p = load_params(PARAMS / "lab.yaml")
    v = node_views(p)
    assert v["manager"].offset == 1
    assert v["manager"].ports["https"] == 9444 and v["manager"].ports["pt_http"] == 8281
    assert v["manager"].ports["local_member"] == 4100  # not shifted (E10)
    assert v["worker1"].ports["local_member"] == 4200 and v["worker1"].ports["https"] == 9445
    assert v["broker1"].offset == 3 and v["broker1"].ports["thrift"] == 7614  # E12
    assert "pt_http" not in v["broker1"].ports
    assert v["manager"].sub_domain == "mgt" and v["worker1"].sub_domain == "worker"  # E9
    assert v["worker1"].local_member_host == "198.51.100.206"  # the host's IP (E10)
    assert well_known_members(p, "manager") == [("198.51.100.132", 4100)]
    assert well_known_members(p, "worker1") == [("198.51.100.206", 4100), ("198.51.100.132", 4100)]
    assert well_known_members(p, "broker1") == [("198.51.100.21", 4000), ("198.51.100.22", 4000)]  # 003: itself too
    assert jdbc_url(p, "WSO2_USER_DB") == \
        "jdbc:mysql://carbondb.mysql-wso2.com:3306/WSO2_USER_DB?autoReconnect=true&useSSL=false"  # E3
    assert hosts_entries(p) == [("198.51.100.11", "esb.wso2.com"), ("198.51.100.11", "mgt.esb.wso2.com"),
                                ("198.51.100.10", "carbondb.mysql-wso2.com")]
    assert secret_names(p) == ["DB_ADMIN_PASSWORD", "DB_APP_PASSWORD", "KEYSTORE_PASSWORD", "SVN_PASSWORD",
                              "TRUSTSTORE_PASSWORD"]


def test_derived_values_esb_elb_000():
    p = load_params(PARAMS / "esb-elb-000.yaml")
    v = node_views(p)
    assert [v[n].ports["https"] for n in ("elb", "manager", "worker2")] == [9443, 9444, 9445]
    assert [v[n].ports["https"] for n in ("worker1", "worker3")] == [9443, 9444]
    assert v["elb"].ports["pt_http"] == 80 and v["elb"].ports["pt_https"] == 443  # 000: ELB on 80/443
    assert v["worker3"].ports["pt_http"] == 8281 and v["worker3"].ports["local_member"] == 4001
    assert v["worker2"].sub_domain == "worker" and v["elb"].sub_domain is None
    assert v["manager"].path("repository/conf/carbon.xml") == "/opt/wso2/manager/wso2esb-4.8.1/repository/conf/carbon.xml"
    # The ELB is a well-known member at its group_mgt_port: that is how it learns the members (000).
    assert well_known_members(p, "worker3") == [("198.51.100.206", 4001), ("198.51.100.132", 4000),
                                                ("198.51.100.206", 5000)]
    assert well_known_members(p, "manager") == [("198.51.100.132", 4000), ("198.51.100.206", 5000)]
    assert jdbc_url(p, "wso2conum_db") == \
        "jdbc:mysql://carbondb.mysql-wso2.com:3306/wso2conum_db?autoReconnect=true&useSSL=false"
    assert all_databases(p) == ["wso2conum_db", "wso2conreg_db"]  # E2: one set of names
    assert hosts_entries(p) == [("198.51.100.206", "esb.cloud-test.wso2.com"),
                                ("198.51.100.206", "management.esb.cloud-test.wso2.com"),
                                ("198.51.100.206", "carbondb.mysql-wso2.com")]


def test_derived_values_ei_broker_003():
    p = load_params(PARAMS / "ei-broker-003.yaml")
    v = node_views(p)
    for name in ("broker1", "broker2"):
        assert v[name].offset == 3 and v[name].ports["thrift"] == 7614 and v[name].ports["https"] == 9446
        assert v[name].layout.conf == "wso2/broker/conf"
    assert v["broker2"].ports["local_member"] == 4200
    both = [("198.51.100.101", 4100), ("198.51.100.102", 4200)]  # 003: every broker, itself included
    assert well_known_members(p, "broker1") == both and well_known_members(p, "broker2") == both
    assert registry_cache_id(p) == \
        "regadmin@jdbc:mysql://carbondb.mysql-wso2.com:3306/REGISTRY_DB?autoReconnect=true&useSSL=false"  # E8
    assert hosts_entries(p) == [("198.51.100.10", "carbondb.mysql-wso2.com")]  # no load balancer


# --- (f) the JSON Schema -------------------------------------------------------------------

def test_committed_schema_matches_the_model():
    committed = (PARAMS / "params.schema.json").read_text()
    assert committed == schema_text(), "params/params.schema.json is stale: run .venv/bin/python -m runbook_lib.params.schema"
    schema = json.loads(committed)
    assert schema == export_schema()
    assert schema["$schema"].startswith("https://json-schema.org/") and schema["title"] and schema["description"]
    assert schema["additionalProperties"] is False


def test_examples_validate_against_the_schema():
    jsonschema = pytest.importorskip("jsonschema")
    import yaml
    schema = export_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    for path in EXAMPLES:
        problems = [e.message for e in validator.iter_errors(yaml.safe_load(path.read_text()))]
        assert problems == [], f"{path.name}: {problems}"
    for name in ("unknown-key-top", "wrong-role", "cleartext-admin-password", "port-out-of-range"):
        assert list(validator.iter_errors(yaml.safe_load((BAD_DIR / f"{name}.yaml").read_text()))), name


def test_members_listed_by_name(tmp_path):
    """nodes.*.member_name (a cluster built by hand, kept by discover): the name goes into
    <members> and /etc/hosts maps it on every node host; it is refused where it cannot work."""
    text = (PARAMS / "ei-nginx-002.yaml").read_text()
    text = text.replace("local_member_port: 4100, well_known: true}", "local_member_port: 4100, well_known: true, "
                        "member_name: ei102}")
    path = tmp_path / "named.yaml"
    path.write_text(text)
    p = load_params(path)
    assert well_known_members(p, "worker2") == [("ei102", 4100), ("198.51.100.103", 4200)]
    assert ("198.51.100.102", "ei102") in hosts_entries(p)
    for old, new, fragment in [("member_name: ei102", "member_name: 198.51.100.102", "is an address"),
                               ("member_name: ei102", "member_name: esb.wso2.com", "the cluster's own names"),
                               ("4300}", "4300, member_name: ei104}", "only a well-known member")]:
        bad = tmp_path / "bad.yaml"
        bad.write_text(text.replace(old, new))
        errors, _ = validate_file(bad)
        assert any(fragment in e.message and e.field.endswith("member_name") for e in errors), \
            "\n".join(map(str, errors))
