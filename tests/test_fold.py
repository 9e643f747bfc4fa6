"""The same change or check on many hosts is shown once (core/fold.py): from
FOLD_AT hosts up, in the plan's text and HTML, the check tables and the
summary; below it every host reads on its own line as before."""

from __future__ import annotations

from types import SimpleNamespace

from runbook_lib.core import step
from runbook_lib.core.change import Change, EditNote
from runbook_lib.core.fold import FOLD_AT, fold, host_list
from runbook_lib.core.standing import Standing, Summary

PATH = "/opt/wso2/ei/conf/registry.xml"
DIFF = f"--- a{PATH}\n+++ b{PATH}\n@@ -1 +1 @@\n-<currentDBConfig>wso2registry</currentDBConfig>\n" \
       "+<currentDBConfig>shared</currentDBConfig>\n"
EDIT = EditNote("/wso2registry/currentDBConfig", "wso2registry", "shared", 3, "currentDBConfig: 'shared'")


def _change(host: str, diff: str = DIFF) -> Change:
    return Change(f"{host}:{PATH}", True, "would change: currentDBConfig", diff, host=host, path=PATH, edits=(EDIT,))


def test_host_list_names_runs_of_numbered_hosts_as_ranges():
    assert host_list([f"ei{n}" for n in range(103, 231)]) == "ei103..ei230"
    assert host_list(["ei105", "ei103", "ei104", "ei107", "db", "ei108"]) == "db, ei103..ei105, ei107, ei108"
    assert host_list(["node01", "node02", "node03", "node10"]) == "node01..node03, node10"
    assert host_list(["w1", "w2"]) == "w1, w2"
    assert host_list([f"worker{n}" for n in range(1, 11)]) == "worker1..worker10"
    assert host_list(["node08", "node09", "node10", "n1", "n01"]) == "n01, n1, node08..node10"


def test_fold_keeps_small_groups_host_by_host_and_folds_from_fold_at():
    small = [_change(f"w{i}") for i in range(FOLD_AT - 1)]
    assert [hosts for _, hosts in fold(small, lambda c: c.host, lambda c: c.diff)] == [[f"w{i}"] for i in range(FOLD_AT - 1)]
    big = [_change(f"w{i}") for i in range(FOLD_AT)]
    assert [hosts for _, hosts in fold(big, lambda c: c.host, lambda c: c.diff)] == [[f"w{i}" for i in range(FOLD_AT)]]


def test_a_plan_shows_an_identical_change_on_many_hosts_once_and_the_odd_one_out_apart():
    odd = DIFF.replace("shared", "other")
    changes = [_change(f"ei{n}") for n in range(103, 123)] + [_change("ei200", odd)]
    changes.insert(5, Change("database REGISTRY_DB", True, "would create"))
    report = step.Report("04 registry", False, changes)
    text = report.text()
    assert text.count("@@ -1 +1 @@") == 2 and text.count("[CHANGE]") == 3
    assert f"[CHANGE] ei103..ei122:{PATH}: would change: currentDBConfig (the same on 20 hosts)" in text
    assert f"[CHANGE] ei200:{PATH}" in text and "+<currentDBConfig>other" in text
    assert text.index("ei103..ei122") < text.index("database REGISTRY_DB") < text.index("ei200")
    assert report.headline() == "04 registry: 22 of 22 would change"  # the counts are per host, as applied
    html = report._repr_html_()
    assert html.count("<pre") == 2 and f"<code>ei103..ei122:{PATH}</code>" in html and "(the same on 20 hosts)" in html


def test_check_tables_fold_identical_rows_and_keep_a_different_one():
    rows = [step.Check(f"ei{n}", f"worker{n - 102}: registry.xml currentDBConfig", "shared", "shared", True)
            for n in range(103, 113)]
    rows.append(step.Check("ei113", "worker11: registry.xml currentDBConfig", "shared", "wso2registry", False,
                           "apply 04"))
    checks = step.Checks("04 registry", rows)
    text = checks.text()
    assert "ei103..ei112 (10 hosts)" in text and "ei104" not in text
    assert "worker1..worker10: registry.xml currentDBConfig" in text and "worker11: registry.xml" in text
    assert "FIX ei113: apply 04" in text and checks.headline() == "04 registry: 10 passed, 1 failed"
    html = checks._repr_html_()
    assert "ei103..ei112 (10 hosts)" in html and "<summary>&#10003; 10 passed</summary>" in html


def test_the_summary_names_a_file_changed_on_many_hosts_once():
    run = SimpleNamespace(run_id="20261207T080000Z", shown_path="params/x.yaml", apply=False)
    standing = Standing()
    standing.note(step.Report("04 registry", False, [_change(f"ei{n}") for n in range(103, 231)]))
    standing.note(step.Checks("04 registry", [step.Check(f"ei{n}", f"worker{n - 102}: registry.xml mounted", "yes",
                                                         "no", False) for n in range(103, 231)]))
    text = Summary(run, standing).text()
    assert f"Changes to make (128): ei103..ei230:{PATH} (currentDBConfig) on 128 hosts" in text
    assert "Failures (128): ei103..ei230 (128 hosts): worker1..worker128: registry.xml mounted" in text
    assert "128 hosts (ei103..ei230)" in text
