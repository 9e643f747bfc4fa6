"""The run report's pieces without the lab (issue 22): the what-changed table
holds every file write of changes.jsonl and explains a plan/apply
difference; the front page draws 08/07's evidence; the rendered notebooks
fold each diff once; the terminal's words and per-host recap."""

from __future__ import annotations

import json
import re

import nbformat

from runbook_lib.core import evidence
from runbook_lib.run import recap, report_changes
from runbook_lib.run.report import read_record, write_report
from runbook_lib.run.report_notebook import fold_diffs, list_edits
from runbook_lib.run.runner import RunSummary, SectionResult

LOG = "/opt/wso2/worker2/repository/logs/wso2carbon.log"
STARTED = "TID: [-1234] [] [2026-12-06 09:17:51,887]  INFO {org.wso2.carbon.core.internal.X} -  WSO2 Carbon started in 4 sec"
LEFT = ("TID: [-1234] [] [2026-12-06 09:18:10,502]  INFO {org.wso2.carbon.core.clustering.hazelcast.wka.X} -  "
        "Member left [47d9]: /198.51.100.132:4300")
ELECTED = "TID: [-1234] [] [2026-12-06 09:17:37,552]  INFO {a.RDBMSCoordinationStrategy} -  Elected current node as the coordinator"
GOSSIP = "TID: [-1234] [] [2026-12-06 09:17:38,001]  INFO {a.ClusterManager} -  Handling cluster gossip: Node broker1  Joined the Cluster"
DIFF = "--- a/x\n+++ b/x\n@@ -1 +1 @@\n-    <a>1</a>\n+    <a>2</a>"


def change(section_host: str, path: str, pending: list[str], diff: str = "") -> dict:
    return {"target": f"{section_host}:{path}", "host": section_host, "path": path, "summary": "changed",
            "pending": pending, "diff": diff, "commands": []}


def _applied_run(run_dir) -> None:
    """An applied run's folder: 05 and 06 both write /etc/hosts on node206, a keytool write the record does
    not name, a plan that showed one change more than the apply made, 08's evidence."""
    meta = {"mode": "apply", "started": "2026-12-06T09:17:09Z", "ended": "2026-12-06T09:18:25Z", "seconds": 76.0,
            "runbook_commit": "abc123def456", "params_file": "params/lab.yaml", "params_sha256": "ab" * 32,
            "cluster": {"name": "lab", "product": "ei", "version": "6.1.1", "domain": "wso2.ei.domain",
                        "hosts": {"node206": "198.51.100.206"}, "nodes": {"worker2": {"host": "node132",
                                                                                       "role": "worker"}}},
            "user": "ops", "machine": "bastion", "lab_instance": "", "sections": []}
    sections = [{"name": n, "ok": True, "seconds": 1.0, "output": "", "changed": 1, "passed": 1, "failed": 0,
                 "error": "", "to_change": 0, "differs": [], "files": r}
                for n, r in (("05_manager", [0, 2]), ("06_workers", [2, 4]), ("08_test_cluster", [4, 4]))]
    (run_dir / "summary.json").write_text(json.dumps({"out_dir": str(run_dir), "params_file": "params/lab.yaml",
                                                      "apply": True, "ok": True, "exit_code": 0, "meta": meta,
                                                      "hosts": {"node206": {"ok": 40, "changed": 17}},
                                                      "sections": sections}))
    hosts = change("node206", "/etc/hosts", ["2 names in /etc/hosts"])
    axis2 = change("node206", "/opt/m/axis2.xml", ["/axisconfig/clustering @enable: 'false' -> 'true'",
                                                   "/axisconfig/clustering/parameter[@name='domain']: 'a' -> 'b'"],
                   DIFF)
    planned_only = change("node206", "/opt/m/carbon.xml", ["Offset 0 -> 1"])
    entries = [
        {"type": "report", "section": "05_manager", "title": "05 files", "applied": False, "changed": 3, "total": 3,
         "changes": [hosts, axis2, planned_only]},
        {"type": "report", "section": "05_manager", "title": "05 files", "applied": True, "changed": 2, "total": 3,
         "changes": [hosts, axis2]},
        {"type": "report", "section": "06_workers", "title": "06 hosts", "applied": True, "changed": 1, "total": 1,
         "changes": [hosts]},
        {"type": "checks", "section": "06_workers", "title": "06", "headline": "06: 1 passed", "passed": 1,
         "to_change": 0, "failed": 0, "rows": [{"host": "node206", "what": "nginx", "expected": "502/503",
                                                "found": "502 from vhost x", "state": "ok", "fix": ""}]}]
    (run_dir / "record.jsonl").write_text("".join(json.dumps(e) + "\n" for e in entries))
    files = [("/etc/hosts", "/etc/hosts.bak.R"), ("/opt/m/axis2.xml", "/opt/m/axis2.xml.bak.R"),  # 05's
             ("/etc/hosts", None), ("/opt/m/client-truststore.jks", "/opt/m/c.jks.bak.R")]  # 06's
    (run_dir / "changes.jsonl").write_text("".join(json.dumps(
        {"host": "node206", "path": p, "existed": True, "backup": b, "sha256_after": "0" * 64, "sudo": False,
         "run_id": "R", "at": "2026-12-06T09:17:30Z"}) + "\n" for p, b in files))
    ev = [{"kind": "started", "section": "08_test_cluster",
           "quotes": [evidence.quote(STARTED, "worker2", "node132", LOG)]},
          {"kind": "membership", "section": "08_test_cluster", "rows": [["node \\ member", "worker2"], ["worker2", "self"]],
           "quotes": []},
          {"kind": "spread", "section": "08_test_cluster", "title": "requests per worker",
           "counts": {"worker1": 7, "worker2": 13}, "answers": {"200": 20}},
          {"kind": "left", "section": "08_test_cluster", "node": "worker3", "member": "198.51.100.132:4300",
           "quotes": [evidence.quote(LEFT, "worker2", "node132", LOG)]},
          {"kind": "coordinator", "section": "07_broker", "by_log": ["broker1"], "in_store": ["broker1"],
           "quotes": [evidence.quote(ELECTED, "broker1", "broker1", LOG)],
           "joined": [evidence.quote(GOSSIP, "broker1", "broker1", LOG)]}]
    (run_dir / "evidence.jsonl").write_text("".join(json.dumps(e) + "\n" for e in ev))
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# 05 · The manager node"), nbformat.v4.new_code_cell("x")]
    shown = ('<b>05 files: 1 of 1 would change</b><ul><li>&#9998; <code>node206:/opt/m/axis2.xml</code>: would change: '
             "/a: 'x' -&gt; 'y'; /b: already 'z'"
             '<pre style="font-size:12px;background:#f6f8fa;padding:6px;margin:2px 0 8px 0">'
             '<span style="color:#cf222e">-    &lt;a&gt;1&lt;/a&gt;</span></pre></li></ul>')
    nb.cells[1].outputs = [nbformat.v4.new_output("display_data", data={"text/html": shown, "text/plain": "x"}),
                           nbformat.v4.new_output("display_data", data={"text/html": shown, "text/plain": "x"})]
    nbformat.write(nb, run_dir / "05_manager.ipynb")


def test_what_changed_lists_every_file_write_with_its_backup_and_explains_differences(tmp_path):
    _applied_run(tmp_path)
    record = read_record(tmp_path)
    rows = report_changes.rows(record, ["05_manager", "06_workers", "08_test_cluster"], tmp_path, True,
                               {"05_manager": [0, 2], "06_workers": [2, 4]})
    by = {(r.section, r.target): r for r in rows}
    assert by[("05_manager", "/opt/m/axis2.xml")].backup == "/opt/m/axis2.xml.bak.R"
    assert by[("05_manager", "/opt/m/axis2.xml")].what[1] == "/axisconfig/clustering/parameter[@name='domain']: 'a' -> 'b'"
    assert by[("05_manager", "/etc/hosts")].backup == "/etc/hosts.bak.R"
    assert "also changed by 05_manager" in by[("06_workers", "/etc/hosts")].note
    assert by[("06_workers", "/opt/m/client-truststore.jks")].backup == "/opt/m/c.jks.bak.R"  # not in the record
    assert by[("06_workers", "/etc/hosts")].backup == "none"  # 06's own write of it: 05 took the backup
    assert by[("05_manager", "/opt/m/carbon.xml")].note.startswith("planned, not changed when applied")
    page = write_report(tmp_path).read_text()
    table = page[page.index("<table id='changes'>"):]
    table = table[:table.index("</table>")]
    for line in (tmp_path / "changes.jsonl").read_text().splitlines():
        assert json.loads(line)["path"] in table
    assert "What changed: 4 changes" in page  # the planned-only row is shown, not counted


def test_plan_explains_a_file_an_earlier_section_changes():
    hosts = change("node206", "/etc/hosts", ["3 names in /etc/hosts"])
    record = {"05_manager": [{"type": "report", "applied": False, "changes": [hosts]}],
              "06_workers": [{"type": "report", "applied": False, "changes": [hosts]}]}
    rows = report_changes.rows(record, ["05_manager", "06_workers"], None, False)  # type: ignore[arg-type]
    assert rows[0].note == "" and rows[0].backup == "taken when applied"
    assert rows[1].note.startswith("05_manager changes this file earlier in this plan")
    assert "counts one change fewer" in rows[1].note


def test_front_page_has_metadata_proof_and_titles(tmp_path):
    _applied_run(tmp_path)
    page = write_report(tmp_path).read_text()
    assert re.search(r"<title>OK · apply of lab · 2026-12-06T09:17:09Z</title>", page)
    for text in ("2026-12-06T09:18:25Z (1 min 16 s)", "abc123def456", "ab" * 32, "ei 6.1.1", "ops on bastion"):
        assert text in page, text
    assert page.count("<svg class='spread'") == 1 and "<title>requests per worker</title>" in page
    assert "WSO2 Carbon started in 4 sec" in page and "logged 2026-12-06 09:17:51,887" in page
    assert "Member left [47d9]: /198.51.100.132:4300" in page
    verdicts = page[page.index("<table id='verdicts'>"):]
    for verdict, line in (("started", "WSO2 Carbon started in 4 sec"), ("saw worker3 leave", "Member left"),
                          ("broker: taken into the cluster", "Joined the Cluster"),
                          ("broker: coordinator (and in the MB store)", "Elected current node as the coordinator")):
        assert re.search(f"<td>{re.escape(verdict)}</td><td>[a-z0-9]+</td><td><blockquote class='log'><code>[^<]*"
                         + re.escape(line), verdicts), verdict
    assert "502 from vhost x</code> <span class='expected'>(expected)</span>" in page
    assert "<table id='hosts'><tr><th>host</th><th>ok</th><th>changed</th><th>failed</th></tr>" \
           "<tr class='ok'><td>node206</td><td>40</td><td>17</td><td>0</td></tr></table>" in page
    notebook = (tmp_path / "05_manager.html").read_text()
    assert "<title>05 · The manager node · OK · apply of lab · 2026-12-06T09:17:09Z</title>" in notebook
    assert "jp-" not in notebook and len(notebook) < 30_000  # our stylesheet only, no JupyterLab CSS
    assert notebook.count("<label for=") == 1 and "diff 1: as shown in the plan above" in notebook
    assert "<li>/a: &#x27;x&#x27; -&gt; &#x27;y&#x27;</li><li>/b: already &#x27;z&#x27;</li>" in notebook \
        or "<li>/a: 'x' -&gt; 'y'</li><li>/b: already 'z'</li>" in notebook
    assert "@media print" in notebook and ".fold>.body{display:block!important}" in notebook


def test_diffs_fold_once_and_commands_stay_open():
    pre = '<pre style="font-size:12px;background:#f6f8fa;padding:6px">{}</pre>'
    seen: dict[str, int] = {}
    first = fold_diffs(pre.format("-a\n+b"), seen)
    assert "<label" in first and "diff 1 (2 lines, +1 -1)" in first
    assert fold_diffs(pre.format("-a\n+b"), seen) == '<p class="same-diff">diff 1: as shown in the plan above</p>'
    assert fold_diffs(pre.format("$ nginx -t"), seen) == pre.format("$ nginx -t")
    assert list_edits("<li>&#9998; <code>h:/f</code>: changed: 3 names in /etc/hosts") == \
        "<li>&#9998; <code>h:/f</code>: changed: 3 names in /etc/hosts"  # one edit: left as it is


def test_section_words_and_per_host_recap():
    plan = RunSummary("runs/x", "params/lab.yaml", False, [SectionResult("08_test_cluster", True, 0.1, "")])
    assert plan.sections[0].word(False) == "skipped (plan only)"
    assert "  skipped (plan only) 08_test_cluster" in plan.text()
    assert SectionResult("06_workers", True, 1, "", changed=2).word(False) == "diff"
    assert SectionResult("06_workers", True, 1, "", changed=2).word(True) == "ok"
    entries = [{"type": "report", "applied": True, "changes": [{"host": "node206"}, {"host": "db"}]},
               {"type": "checks", "rows": [{"host": "node206", "state": "ok"}, {"host": "198.51.100.11", "state": "ok"},
                                           {"host": "node206, db", "state": "FAIL"}]}]
    hosts = recap.per_host(entries, True, {"198.51.100.11": "lb"})
    assert dict(hosts["node206"]) == {"changed": 1, "ok": 1, "failed": 1}
    assert dict(hosts["lb"]) == {"ok": 1}
    lines = recap.lines(hosts, True)
    assert lines[0] == "per host:" and re.match(r"  node206  ok=1 +changed=1 +failed=1$", lines[1])
    applied = RunSummary("runs/x", "params/lab.yaml", True, [SectionResult("05_manager", True, 1, "")],
                         meta={"ended": "x", "seconds": 75.0, "mode": "apply", "user": "u", "machine": "m",
                               "runbook_commit": "c", "params_file": "p", "params_sha256": "0" * 64,
                               "started": "s", "lab_instance": "",
                               "cluster": {"name": "lab", "product": "ei", "version": "6.1.1", "domain": "d",
                                           "hosts": {}, "nodes": {}}}, hosts=hosts)
    text = applied.text()
    assert text.splitlines()[-1].startswith("OK:") and text.splitlines()[-1].endswith("in 1 min 15 s")
    assert "per host:" in text and "apply run by u@m, runbook c" in text


def test_evidence_is_written_beside_the_record_masked_and_quotes_carry_their_time(tmp_path, monkeypatch):
    from runbook_lib.params.secrets import _RESOLVED
    assert evidence.quote(STARTED, "worker2", "node132", LOG)["at"] == "2026-12-06 09:17:51,887"
    text = "\n".join([STARTED, LEFT, STARTED.replace("51,887", "59,000")])
    got = evidence.quotes(text, "WSO2 Carbon started", "worker2", "node132", LOG, last=1)
    assert [q["at"] for q in got] == ["2026-12-06 09:17:59,000"]
    evidence.write("spread", counts={})  # outside a headless run: nothing, nowhere
    evidence.note("starting worker2")
    monkeypatch.setenv("RUNBOOK_RECORD", str(tmp_path / "record.jsonl"))
    monkeypatch.setenv("RUNBOOK_SECTION", "08_test_cluster")
    monkeypatch.setenv("RUNBOOK_PROGRESS", str(tmp_path / "progress.log"))
    monkeypatch.setenv("RUNBOOK_HEADLESS", "1")
    _RESOLVED.add("s3cr3t-evidence")
    try:
        evidence.write("left", quotes=[evidence.quote(LEFT + " s3cr3t-evidence", "w", "h", LOG)])
        evidence.note("waiting for membership 12/60 s")
    finally:
        _RESOLVED.discard("s3cr3t-evidence")
    [entry] = evidence.read(tmp_path)
    assert entry["section"] == "08_test_cluster" and "s3cr3t-evidence" not in json.dumps(entry)
    assert (tmp_path / "progress.log").read_text() == "waiting for membership 12/60 s\n"


def test_progress_tail_prints_only_what_this_section_adds(tmp_path):
    from runbook_lib.run.runner import _ProgressTail
    log = tmp_path / "progress.log"
    log.write_text("03 databases: all 9 hosts done in 1.5s\n")  # an earlier section's line, printed then
    printed: list[str] = []
    tail = _ProgressTail(log, printed.append)
    with open(log, "a") as f:
        f.write("starting worker2 on node132\n")
    tail.stop()
    assert printed == ["      starting worker2 on node132"]


def test_change_lines_without_a_verb_become_lists_too():
    line = "<li>&#9998; <code>h:/a.xml</code>: /x: 'a' -&gt; 'b'; /y: 'c' -&gt; 'd' (3 other settings already as intended)"
    assert list_edits(line) == ("<li>&#9998; <code>h:/a.xml</code>: <ul class='what'><li>/x: 'a' -&gt; 'b'</li>"
                                "<li>/y: 'c' -&gt; 'd' (3 other settings already as intended)</li></ul>")
