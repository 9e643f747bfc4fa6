"""The whole runbook, headless, on a fresh lab: a plan-only run changes
nothing and shows every diff; --apply configures everything with every check
passing; a second --apply changes nothing, byte for byte; the committed
notebooks replay under nbval."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import nbformat
import pymysql
import pytest

from runbook_lib.lab import api as labmod
from runbook_lib.remote.inventory import fan_out, hosts_from_params
from runbook_lib.params.secrets import PUBLISHED_DEFAULTS, read_secrets_file
from runbook_lib.run.runner import run_sections, sections

from .conftest import PARAMS_LAB, ROOT, skip_if_shared
from .nbrun import outputs_text

pytestmark = pytest.mark.lab
quiet = {"log": lambda *_: None}
# A running node's own files (its log, pid file, SVN working copy and deployed
# artifacts) change while it runs (08 leaves the cluster running); every
# configured file is compared.
SNAPSHOT = ("sudo find /opt /etc/hosts /etc/nginx -type f -not -path '*/repository/logs/*' -not -name wso2carbon.pid "
            "-not -path '*/.svn/*' -not -path '*/repository/deployment/server/*' -not -path '/opt/svn/*' -print0 "
            "2>/dev/null | sudo xargs -0 -r sha256sum | sort -k2")


@pytest.fixture(scope="module")
def fresh(lab_params):
    skip_if_shared()
    labmod.down(lab_params, **quiet)
    labmod.up(lab_params, PARAMS_LAB, **quiet)
    yield lab_params


def snapshot(p) -> dict:
    """sha256 of every file under /opt, /etc/hosts, /etc/nginx on every host,
    plus the databases and accounts in MariaDB."""
    hosts = hosts_from_params(p)
    files = fan_out(hosts, lambda h: h.check(SNAPSHOT).stdout)
    out = {name: o.value for name, o in files.items()}
    assert all(o.ok for o in files.values()), [str(o) for o in files.values() if not o.ok]
    for h in hosts.values():
        h.close()
    secret = read_secrets_file(p.secrets_file)[p.database.admin_password.secret]
    with pymysql.connect(host=str(p.hosts[p.database.host].address), user=p.database.admin_user,
                         password=secret) as c, c.cursor() as cur:
        cur.execute("SELECT table_schema, table_name FROM information_schema.tables ORDER BY 1, 2")
        out["mysql.tables"] = cur.fetchall()
        cur.execute("SELECT user, host FROM mysql.user ORDER BY 1, 2")
        out["mysql.users"] = cur.fetchall()
    return out


def test_plan_only_run_changes_nothing_and_shows_every_diff(fresh, tmp_path):
    before = snapshot(fresh)
    summary = run_sections(PARAMS_LAB, apply=False, out_dir=tmp_path, progress=lambda *_: None)
    assert summary.ok, summary.text()
    assert snapshot(fresh) == before
    assert [s.name for s in summary.sections] == sections()
    for s in summary.sections[1:]:
        text = outputs_text(s.output)
        if s.name == "08_test_cluster":  # changes no file: shows the start order and runs nothing
            assert "start order" in text and "not run (apply=False)" in text and "WSO2 Carbon started" not in text
            continue
        assert "would change" in text, f"{s.name} showed no planned change"
        assert "not applied (apply=False)" in text
        assert "\n+" in text and "\n-" in text or "CREATE" in text, s.name
    secrets = [v for v in read_secrets_file(fresh.secrets_file).values() if v not in PUBLISHED_DEFAULTS]
    for nb in tmp_path.glob("*.ipynb"):
        raw = nb.read_text()
        assert not [v for v in secrets if len(v) > 5 and v in raw], f"secret in {nb.name}"


def test_apply_configures_everything_then_a_second_apply_changes_nothing(fresh, tmp_path):
    first = run_sections(PARAMS_LAB, apply=True, out_dir=tmp_path / "1", progress=lambda *_: None)
    assert first.ok, first.text()
    assert sum(s.changed for s in first.sections) > 0
    assert all(s.failed == 0 for s in first.sections) and sum(s.passed for s in first.sections) > 0
    configured = snapshot(fresh)
    second = run_sections(PARAMS_LAB, apply=True, out_dir=tmp_path / "2", progress=lambda *_: None)
    assert second.ok, second.text()
    assert [s.changed for s in second.sections] == [0] * len(second.sections), second.text()
    assert snapshot(fresh) == configured
    summary = json.loads((tmp_path / "2" / "summary.json").read_text())
    assert summary["ok"] and summary["apply"]
    for nb in (tmp_path / "1").glob("*.ipynb"):
        raw = nb.read_text()
        for v in read_secrets_file(fresh.secrets_file).values():
            assert v in PUBLISHED_DEFAULTS or v not in raw, f"secret in {nb.name}"


def test_committed_notebooks_never_apply_by_themselves():
    for name in sections():
        nb = nbformat.read(ROOT / "notebooks" / f"{name}.ipynb", as_version=4)
        tags = [t for c in nb.cells for t in c.get("metadata", {}).get("tags", [])]
        assert tags.count("parameters") == 1 and "injected-parameters" not in tags, name
        params = next(c for c in nb.cells if "parameters" in c.get("metadata", {}).get("tags", []))
        assert "apply = False" in params.source, name
        assert nb.metadata["kernelspec"]["name"] == "wso2-runbook", name


def test_committed_notebooks_replay_under_nbval(fresh, tmp_path):
    labmod.down(fresh, **quiet)
    labmod.up(fresh, PARAMS_LAB, **quiet)  # the recorded outputs are of a plan-only run on a fresh lab
    # Replayed in order as one run, as the runner recorded them: a plan shown in one
    # section (05 creates the SVN repository) makes a later section's check (06) read
    # "to change" rather than fail, through the run record.
    env = dict(os.environ, RUNBOOK_HEADLESS="1", RUNBOOK_RECORD=str(tmp_path / "record.jsonl"))
    res = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--nbval",
         "--nbval-sanitize-with", str(ROOT / "notebooks" / "sanitize.cfg"), "--nbval-cell-timeout=600",
         *[str(ROOT / "notebooks" / f"{name}.ipynb") for name in sections()]],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=1800)
    assert res.returncode == 0, res.stdout[-6000:]


def test_applied_cluster_test_replays_under_nbval(fresh, tmp_path):
    """08 applied (recorded by `make record` after 00-07 applied on a fresh lab)
    replays cell by cell on a fresh lab brought to the same state: the same
    start order, membership tables, console answers, deployment and checks;
    only timings and the spread of requests are sanitised (sanitize.cfg)."""
    fixture = ROOT / "tests" / "nbval" / "08_test_cluster.ipynb"
    nb = nbformat.read(fixture, as_version=4)
    injected = next(c for c in nb.cells if "injected-parameters" in c.get("metadata", {}).get("tags", []))
    assert "apply = True" in injected.source and 'params_file = "params/lab.yaml"' in injected.source
    labmod.down(fresh, **quiet)
    labmod.up(fresh, PARAMS_LAB, **quiet)
    files = run_sections(PARAMS_LAB, apply=True, only=[s for s in sections() if s != "08_test_cluster"],
                         out_dir=tmp_path / "run", progress=lambda *_: None)
    assert files.ok, files.text()
    env = dict(os.environ, RUNBOOK_HEADLESS="1", RUNBOOK_RECORD=str(tmp_path / "record.jsonl"))
    res = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--nbval",
         "--nbval-sanitize-with", str(ROOT / "notebooks" / "sanitize.cfg"), "--nbval-cell-timeout=600", str(fixture)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    assert res.returncode == 0, res.stdout[-6000:]
