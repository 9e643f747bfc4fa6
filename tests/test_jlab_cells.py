"""Issue 25 without a browser: an Apply bound to the plan reviewed
(binding.py), "nothing to apply", check tables an eye can scan (render.py)
and the summary of where a run stands (standing.py)."""

from __future__ import annotations

import re
from types import SimpleNamespace

from runbook_lib.core import cells, following, recorder, step
from runbook_lib.core.binding import Drift
from runbook_lib.core.change import Change, EditNote, content_hash
from runbook_lib.core.standing import NEXT_APPLY, NEXT_DONE, NEXT_FIX, Standing, Summary, setting_name

DOMAIN = "/axisconfig/clustering/parameter[@name='domain']"
PORT = "/axisconfig/clustering/parameter[@name='localMemberPort']"


class FakeFile:
    """A target whose content the test edits between the plan and the click."""

    def __init__(self, values: dict[str, str], wanted: dict[str, str]) -> None:
        self.values, self.wanted, self.writes = dict(values), wanted, 0

    def op(self, dry_run: bool) -> Change:
        data = repr(sorted(self.values.items())).encode()
        edits = tuple(EditNote(k, self.values.get(k), v, None, f"{setting_name(k)}: {self.values.get(k)!r} -> {v!r}",
                               self.values.get(k) != v) for k, v in self.wanted.items())
        changed = any(e.changed for e in edits)
        if changed and not dry_run:
            self.values.update(self.wanted)
            self.writes += 1
        return Change("node206:/opt/axis2.xml", changed, "would change" if dry_run else "changed",
                      host="node206", path="/opt/axis2.xml", edits=edits, read=content_hash(data))


def _plan(f: FakeFile) -> step.Plan:
    return step.Plan("06 axis2.xml", [step.Operation("node206:/opt/axis2.xml", f.op, "node206")])


def test_apply_writes_nothing_when_the_target_changed_after_the_plan():
    f = FakeFile({DOMAIN: "hand.edit", PORT: "4300"}, {DOMAIN: "wso2.ei.domain", PORT: "4300"})
    plan = _plan(f)
    reviewed = plan.preview()
    assert [e.what for e in reviewed.changes[0].edits if e.changed] == [DOMAIN]
    f.values[PORT] = "4999"  # edited again by hand before the click
    outcome = plan.apply_reviewed(reviewed)
    assert isinstance(outcome, tuple), "the click must not apply a plan that differs from the one reviewed"
    drift, now = outcome
    assert f.writes == 0 and f.values[PORT] == "4999"
    assert isinstance(drift, Drift) and "NOT applied, nothing was written" in drift.text()
    assert "localMemberPort: '4999' -> '4300'" in drift.text()
    assert [e.what for e in now.changes[0].edits if e.changed] == [DOMAIN, PORT]
    # the new plan, clicked with nothing changed since, applies
    done = plan.apply_reviewed(now)
    assert isinstance(done, step.Report) and done.applied and f.writes == 1 and f.values[PORT] == "4300"


def test_apply_of_an_unchanged_target_applies_the_reviewed_plan():
    f = FakeFile({DOMAIN: "hand.edit"}, {DOMAIN: "wso2.ei.domain"})
    plan = _plan(f)
    done = plan.apply_reviewed(plan.preview())
    assert isinstance(done, step.Report) and f.writes == 1


def test_a_change_elsewhere_in_the_file_also_stops_the_apply():
    f = FakeFile({DOMAIN: "hand.edit", "other": "1"}, {DOMAIN: "wso2.ei.domain"})
    plan = _plan(f)
    reviewed = plan.preview()
    f.values["other"] = "2"
    drift, _ = plan.apply_reviewed(reviewed)
    assert "the rest of the file differs" in drift.text() and f.writes == 0


def test_no_changes_no_button(capsys):
    f = FakeFile({DOMAIN: "wso2.ei.domain"}, {DOMAIN: "wso2.ei.domain"})
    plan = _plan(f)
    run = SimpleNamespace(apply=False, note_pending=lambda c: None, recorder=recorder.Recorder(), run_id="t1")
    cells.preview(plan, run)
    cells.apply(plan, run)
    out = capsys.readouterr().out
    assert "06 axis2.xml: nothing to apply." in out and "not applied" not in out


def test_applied_run_without_changes_says_no_changes_once(capsys):
    f = FakeFile({DOMAIN: "wso2.ei.domain"}, {DOMAIN: "wso2.ei.domain"})
    plan = _plan(f)
    run = SimpleNamespace(apply=True, recorder=recorder.Recorder(), run_id="t2")
    cells.preview(plan, run)
    cells.apply(plan, run)
    out = capsys.readouterr().out
    assert out.count("no changes - everything already as intended") == 1 and "nothing to apply" in out


def test_a_changed_file_line_names_only_the_settings_that_change():
    edits = tuple(EditNote.same(f"/a/p[@name='s{i}']", "v", f"/a/p[@name='s{i}']: already 'v'") for i in range(11))
    edits += (EditNote(DOMAIN, "x", "wso2.ei.domain", 196, f"{DOMAIN}: 'x' -> 'wso2.ei.domain' (line 196)"),)
    c = Change("node206:/opt/axis2.xml", True, "would change: " + "; ".join(e.text for e in edits), "diff",
               edits=edits)
    r = step.Report("06 axis2.xml", False, [c])
    line = r.text().splitlines()[1]
    assert "already" not in line.split("(11 other")[0] and "'x' -> 'wso2.ei.domain'" in line
    assert "(11 other settings already as intended)" in line
    assert "&#9998; <code>" in r._repr_html_() and "list-style:none" in r._repr_html_()  # one mark, no bullet


def test_check_table_lists_misses_first_and_folds_the_passed_rows():
    rows = [step.Check("n1", f"ok {i}", "a", "a", True) for i in range(5)]
    rows += [step.Check("n2", "to change row", "a", "b", False), step.Check("n3", "failing row", "a", "b", False,
                                                                             "fix it")]
    html = step.Checks("t", rows).planned({"n2"})._repr_html_()
    assert html.index("failing row") < html.index("to change row") < html.index("<details")
    assert "<summary>&#10003; 5 passed</summary>" in html and html.index("ok 0") > html.index("<details")
    assert "#fff8c5" in html  # "to change" has its own colour, not the headers' grey
    assert "text-align:right" not in html and all("text-align:left" in td for td in re.findall(r"<td[^>]*>", html))
    assert "table-layout:fixed" in html


def test_summary_names_the_drifted_file_and_the_next_step():
    run = SimpleNamespace(run_id="20261206T094000Z", shown_path="params/lab.yaml", apply=False)
    standing = Standing()
    assert "Nothing checked yet" in Summary(run, standing).text()
    edit = EditNote(DOMAIN, "hand.edit", "wso2.ei.domain", 196, "d")
    standing.note(step.Report("06 axis2.xml", False, [
        Change("node132:/opt/w3/axis2.xml", True, "would change", "diff", host="node132", path="/opt/w3/axis2.xml",
               edits=(edit,)),
        Change("node206:/opt/w1/axis2.xml", False, "already", host="node206", path="/opt/w1/axis2.xml")]))
    standing.note(step.Checks("06 axis2.xml", [step.Check("node132", "w3 domain", "a", "b", False)]).planned({"node132"}))
    text = Summary(run, standing).text()
    assert "Changes to make (1): node132:/opt/w3/axis2.xml (domain)" in text
    assert "Failures (0): none" in text and f"Next step: {NEXT_APPLY}" in text and "2026-12-06 09:40 UTC" in text
    standing.note(step.Checks("06 hosts", [step.Check("node206", "name resolves", "a", "b", False, "fix")]))
    assert f"Next step: {NEXT_FIX}" in Summary(run, standing).text()
    done = Standing()
    done.note(step.Report("x", True, [Change("t", False, "already")]))
    assert f"Next step: {NEXT_DONE}" in Summary(run, done).text()


def test_cells_follow_the_run_in_its_summary(capsys):
    f = FakeFile({DOMAIN: "hand.edit"}, {DOMAIN: "wso2.ei.domain"})
    run = SimpleNamespace(apply=False, note_pending=lambda c: None, recorder=recorder.Recorder(),
                          run_id="20261206T094100Z", shown_path="params/lab.yaml",
                          pending_hosts=lambda: {"node206"})
    plan = _plan(f)
    cells.preview(plan, run)
    cells.apply(plan, run)
    following.summary(run)
    out = capsys.readouterr().out
    assert "Changes to make (1): node206:/opt/axis2.xml (domain)" in out


def test_08_runs_a_read_only_step_plan_only_on_a_running_cluster_and_lists_the_others(monkeypatch, capsys):
    from runbook_lib.sections.cluster import lifecycle as ct
    monkeypatch.setattr(ct, "members_of", lambda run: ["a member"])
    down: list[str] = []
    monkeypatch.setattr(ct, "cluster_nodes", lambda run: [SimpleNamespace(name="worker3")])
    monkeypatch.setattr(ct, "running", lambda run, v: v.name not in down)
    run = SimpleNamespace(apply=False, recorder=recorder.Recorder(), run_id="20261206T094200Z",
                          shown_path="params/lab.yaml", pending_hosts=set)
    ran: list[str] = []
    ct.do(run, "start the nodes", lambda: ran.append("start"))
    ct.do(run, "console", lambda: ran.append("console") or step.Checks("console", [
        step.Check("lb", "login page", "200", "200", True)]), reads_only=True)
    ct.do(run, "requests", lambda: ran.append("requests"), reads_only=True, ready=lambda: "the proxy is not deployed")
    down.append("worker3")
    ct.do(run, "membership", lambda: ran.append("membership"), reads_only=True)
    following.summary(run)
    out = capsys.readouterr().out
    assert ran == ["console"]
    assert "start the nodes: not run (apply=False): it starts, stops or deploys" in out
    assert "requests: not run (apply=False): the proxy is not deployed" in out
    assert "membership: not run (apply=False): it only reads, but on running nodes (not running: worker3;" in out
    assert "console: 1 passed, 0 failed" in out
    assert "Needs apply = True, not run (1): start the nodes" in out


def test_apply_true_after_a_reviewed_plan_only_run_in_the_same_kernel(monkeypatch, capsys):
    """JupyterLab (not headless): a plan-only run's plan binds a later apply = True run of the same kernel."""
    import pytest
    from runbook_lib.core.errors import RunbookError
    monkeypatch.delenv("RUNBOOK_HEADLESS", raising=False)
    monkeypatch.setattr(cells, "apply_button", lambda title, fn: None)
    monkeypatch.setattr(cells, "_reviewed", {})
    f = FakeFile({DOMAIN: "hand.edit", PORT: "4300"}, {DOMAIN: "wso2.ei.domain", PORT: "4300"})
    plan = _plan(f)
    review = SimpleNamespace(apply=False, note_pending=lambda c: None, recorder=recorder.Recorder(), run_id="k1",
                             pending_hosts=set)
    cells.preview(plan, review)
    cells.apply(plan, review)
    f.values[PORT] = "4999"  # changed after the review
    run = SimpleNamespace(apply=True, recorder=recorder.Recorder(), run_id="k2")
    cells.preview(plan, run)
    with pytest.raises(RunbookError, match="changed since the plan you reviewed"):
        cells.apply(plan, run)
    assert f.writes == 0 and "NOT applied, nothing was written" in capsys.readouterr().out
    cells.apply(plan, run)  # run again: the new plan, shown, is applied
    assert f.writes == 1 and f.values[PORT] == "4300"


def test_each_section_of_a_run_has_its_own_summary(monkeypatch, capsys):
    """A headless run executes every section in one kernel under one run id: 05's summary
    must not list the changes 04 planned (it did: issue 23 found the summary growing run-wide)."""
    run = SimpleNamespace(apply=False, note_pending=lambda c: None, recorder=recorder.Recorder(),
                          run_id="20261206T094300Z", shown_path="params/lab.yaml", pending_hosts=lambda: {"node206"})
    monkeypatch.setenv("RUNBOOK_SECTION", "04_registry_mount")
    plan = _plan(FakeFile({DOMAIN: "hand.edit"}, {DOMAIN: "wso2.ei.domain"}))
    cells.preview(plan, run)
    following.summary(run)
    assert "Changes to make (1): node206:/opt/axis2.xml (domain)" in capsys.readouterr().out
    monkeypatch.setenv("RUNBOOK_SECTION", "05_manager")
    following.summary(run)
    out = capsys.readouterr().out
    assert "Nothing checked yet" in out and "axis2.xml" not in out


def test_a_summary_is_redrawn_at_most_once_a_second_and_always_after_the_cell(monkeypatch):
    drawn: list[str] = []

    class Handle:
        def update(self, obj):
            drawn.append(obj.text())

    run = SimpleNamespace(run_id="20261206T094400Z", shown_path="params/lab.yaml", apply=False)
    monkeypatch.setenv("RUNBOOK_SECTION", "06_workers")
    f = following.following(run)
    shown = following.Shown.__new__(following.Shown)
    shown.obj, shown.handle = None, Handle()
    f.shown.append(shown)
    for i in range(5):
        following.follow(step.Checks(f"t{i}", [step.Check("node206", "c", "a", "a", True)]), run)
    assert len(drawn) == 1 and "1 checks" in drawn[0]  # the first at once, the next four held back
    following.flush()  # what IPython's post_run_cell does
    assert len(drawn) == 2 and "5 checks" in drawn[1]
    following.flush()
    assert len(drawn) == 2  # nothing new: no drawing
