"""Day-two pieces without the lab: plan-only check tables, the run summary's
exit codes and drift lines, the HTML run report, the runner's kernel
transport and the CLI's exit codes on bad input."""

from __future__ import annotations

import json
import re
import subprocess
from types import SimpleNamespace

import nbformat

from runbook_lib.core import cells, recorder, step
from runbook_lib.operations.files import ensure_hosts_entries
from runbook_lib.params.secrets import _RESOLVED
from runbook_lib.run.report import write_report
from runbook_lib.run.runner import RunSummary, SectionResult, difference, kernel_config

from .conftest import ROOT

ROWS = [step.Check("node206", "manager: axis2.xml domain", "wso2.ei.domain", "wso2.carbon.domain", False),
        step.Check("node132", "worker2: axis2.xml domain", "wso2.ei.domain", "wso2.carbon.domain", False,
                   "apply the clustering step"),
        step.Check("node132", "worker3: axis2.xml domain", "wso2.ei.domain", "wso2.ei.domain", True),
        step.Check("node132", "connects to the database", "ok", "refused", False, via=("db",))]


def test_applied_checks_fail_every_miss():
    checks = step.Checks("05 axis2.xml", ROWS)
    assert checks.headline() == "05 axis2.xml: 1 passed, 3 failed"
    assert "to change" not in checks.text()


def test_plan_only_checks_show_misses_the_plan_makes_as_to_change():
    checks = step.Checks("05 axis2.xml", ROWS).planned({"node206"})
    assert [checks.state(c) for c in ROWS] == ["to change", "FAIL", "ok", "FAIL"]
    assert checks.headline() == "05 axis2.xml (plan, not applied): 1 passed, 1 to change, 2 failed"
    text = checks.text()
    assert re.search(r"^to change\s+node206\s+manager: axis2.xml domain", text, re.M)
    assert re.search(r"^FAIL\s+node132\s+worker2", text, re.M)
    assert "FIX node132: apply the clustering step" in text
    assert "FIX node206" not in text
    # a check that reads another host's state is "to change" when that host has changes pending
    assert checks.planned({"db"}).state(ROWS[3]) == "to change"
    html = checks._repr_html_()
    assert html.count("#ffebe9") == 2 and html.count("#fff8c5") == 1 and html.count("#dafbe1") == 1
    record = recorder.checks_entry(checks)
    assert (record["passed"], record["to_change"], record["failed"]) == (1, 1, 2)
    assert [r["state"] for r in record["rows"]] == ["to change", "FAIL", "ok", "FAIL"]


def test_verify_with_a_plan_only_run_shows_and_does_not_raise(capsys):
    run = SimpleNamespace(apply=False, pending_hosts=lambda: {"node206", "node132", "db"}, recorder=recorder.Recorder())
    cells.verify(step.Checks("05 axis2.xml", ROWS), run)
    out = capsys.readouterr().out
    assert "1 passed, 3 to change, 0 failed" in out and "FIX" not in out
    applied = SimpleNamespace(apply=True, pending_hosts=set, recorder=recorder.Recorder())
    try:
        cells.verify(step.Checks("05 axis2.xml", ROWS), applied)
    except step.CheckFailed as e:
        assert "3 failed" in str(e)
    else:
        raise AssertionError("an applied run's failed check must raise")


def test_plan_apply_notes_the_pending_hosts():
    from runbook_lib.core.change import Change
    plan = step.Plan("t", [step.Operation("node206:/etc/hosts", lambda dry: Change("node206:/etc/hosts", True, "x")),
                           step.Operation("database X", lambda dry: Change("database X", True, "y"))])
    noted: list = []
    run = SimpleNamespace(apply=False, note_pending=noted.extend, recorder=recorder.Recorder())
    cells.apply(plan, run)  # no preview yet: nothing known to be pending
    assert noted == []
    plan.preview()
    cells.apply(plan, run)
    assert [c.target for c in noted] == ["node206:/etc/hosts", "database X"]


def _section(name, **kw) -> SectionResult:
    return SectionResult(name, True, 1.5, f"{name}.ipynb", **kw)


def test_exit_codes_and_drift_lines():
    ok = RunSummary("runs/x", "params/lab.yaml", False, [_section("00_preflight", passed=47)])
    assert ok.exit_code == 0 and "AS INTENDED" in ok.text() and "exit 0" in ok.text()
    from runbook_lib.core.change import Change, EditNote
    path = "/opt/wso2/worker2/conf/axis2/axis2.xml"
    notes = (EditNote.same("/axisconfig/clustering @enable", "true", "/axisconfig/clustering @enable: already 'true'"),
             EditNote("/axisconfig/clustering/parameter[@name='domain']", "hand.edit", "wso2.ei.domain", 196,
                      "/axisconfig/clustering/parameter[@name='domain']: 'hand.edit' -> 'wso2.ei.domain' (line 196)"),
             EditNote.same("/axisconfig/clustering/members", "as wanted",
                           "/axisconfig/clustering/members: children already as wanted"))
    change = recorder.change_entry(Change(f"node132:{path}", True, "would change: " + "; ".join(n.text for n in notes),
                                          host="node132", path=path, edits=notes))
    line = difference(change)
    assert line == ("node132  /opt/wso2/worker2/conf/axis2/axis2.xml: /axisconfig/clustering/parameter"
                    "[@name='domain']: 'hand.edit' -> 'wso2.ei.domain' (line 196)")
    drift = RunSummary("runs/x", "params/lab.yaml", False,
                       [_section("00_preflight", passed=47), _section("06_workers", changed=1, passed=90,
                                                                       to_change=1, differs=[line])])
    assert drift.exit_code == 2
    text = drift.text()
    assert "  diff 06_workers" in text and f"  06_workers  {line}" in text and "WOULD CHANGE" in text
    failed = RunSummary("runs/x", "params/lab.yaml", False, [_section("00_preflight", passed=36, failed=1)])
    failed.sections[0].ok = False
    assert failed.exit_code == 1
    applied = RunSummary("runs/x", "params/lab.yaml", True, [_section("05_manager", changed=17, passed=106)])
    assert applied.exit_code == 0 and applied.text().splitlines()[-1].startswith("OK:")


class FakeHosts:
    name = "node206"

    def read_file(self, path: str) -> bytes:
        return b"127.0.0.1\tlocalhost\n"


def test_summary_counts_contradictions_in_a_plan_as_failures():
    s = _section("04_registry_mount")
    s.count({"type": "report", "applied": False, "changed": 1, "changes": [
        recorder.change_entry(ensure_hosts_entries(FakeHosts(), [("198.51.100.10", "db")], dry_run=True))]},
        apply=False)
    s.count({"type": "checks", "passed": 3, "to_change": 1, "failed": 0}, apply=False)
    assert s.ok and (s.changed, s.to_change) == (1, 1) and s.differs == ["node206  /etc/hosts: 1 names in /etc/hosts"]
    s.count({"type": "checks", "passed": 0, "to_change": 0, "failed": 1}, apply=False)
    assert not s.ok


def test_runner_kernels_use_unix_sockets_in_a_private_folder(tmp_path):
    cfg = kernel_config(str(tmp_path))
    assert cfg.KernelManager.transport == "ipc"
    assert cfg.KernelManager.ip == str(tmp_path / "kernel")


def _fake_run(run_dir, secret: str):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# 05 · Manager"), nbformat.v4.new_code_cell("run")]
    nb.cells[1].outputs = [nbformat.v4.new_output("stream", text=f"password {secret}\n")]
    nbformat.write(nb, run_dir / "05_manager.ipynb")
    summary = {"out_dir": str(run_dir), "params_file": "params/lab.yaml", "apply": False, "ok": True,
               "exit_code": 2, "sections": [{"name": "05_manager", "ok": True, "seconds": 2.0, "output": "",
                                             "changed": 1, "passed": 5, "failed": 0, "error": "", "to_change": 1,
                                             "differs": ["node206  /opt/x/axis2.xml: 'a' -> 'b'"]}]}
    (run_dir / "summary.json").write_text(json.dumps(summary))
    entries = [{"type": "report", "section": "05_manager", "title": "05 axis2.xml", "applied": False, "changed": 1,
                "total": 2, "targets": ["node206:/opt/x/axis2.xml"],
                "changes": [{"target": "node206:/opt/x/axis2.xml", "host": "node206", "path": "/opt/x/axis2.xml",
                             "pending": ["'a' -> 'b'"], "summary": "would change: 'a' -> 'b'",
                             "diff": "--- a/x\n+++ b/x\n-a\n+b <password>" + secret, "commands": []}]},
               {"type": "checks", "section": "05_manager", "title": "05 axis2.xml",
                "headline": "05 axis2.xml (plan, not applied): 5 passed, 1 to change, 0 failed", "passed": 5,
                "to_change": 1, "failed": 0, "rows": [{"host": "node206", "what": "domain", "expected": "b",
                                                       "found": "a", "state": "to change", "fix": ""}]}]
    (run_dir / "record.jsonl").write_text("".join(json.dumps(e) + "\n" for e in entries))


def test_report_is_self_contained_masked_and_links_the_notebooks(tmp_path):
    secret = "s3cr3t-daytwo-value"
    _fake_run(tmp_path, secret)
    _RESOLVED.add(secret)  # as if resolved in this process
    try:
        index = write_report(tmp_path)
    finally:
        _RESOLVED.discard(secret)
    page = index.read_text()
    assert "<table id=\"summary\">" in page and "WOULD CHANGE: drift found" in page
    assert "<td>node206</td><td><code>/opt/x/axis2.xml</code></td><td><ul class='what'><li><code>&#x27;a&#x27; -&gt; " \
           "&#x27;b&#x27;</code></li></ul>" in page  # the what-would-change table, each edit a list item
    assert "(plan, not applied): 5 passed, 1 to change, 0 failed" in page
    assert '<a href="05_manager.html">05_manager.html</a>' in page
    notebook = (tmp_path / "05_manager.html").read_text()
    assert "05 · Manager" in notebook
    for text in (page, notebook):
        assert secret not in text
        assert not re.findall(r'(?:src|href)="(?:https?:)?//', text), "an external asset"


def test_cli_exit_codes_on_bad_input(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\n")
    for cmd in (["check", str(bad)], ["run", str(bad)], ["report", str(tmp_path)]):
        r = subprocess.run([str(ROOT / ".venv/bin/runbook"), *cmd], capture_output=True, text=True, cwd=ROOT)
        assert r.returncode == 1, (cmd, r.stdout, r.stderr)
        assert r.stderr.startswith("error: ") and "Traceback" not in r.stderr
    assert "exit codes:" in subprocess.run([str(ROOT / ".venv/bin/runbook"), "check", "--help"],
                                           capture_output=True, text=True).stdout
