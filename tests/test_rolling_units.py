"""The rolling apply's pieces that need no lab (issue 21): the order of
batches, the plan, the drained vhosts, the journal read back."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from runbook_lib.core.context import open_run
from runbook_lib.core.errors import RunbookError
from runbook_lib.run.journal import Journal
from runbook_lib.run.rolling import batches, plan_text
from runbook_lib.sections.lb.nginx_conf import all_vhosts
from runbook_lib.sections.lb.nginx_drain import node_servers, render


@pytest.fixture(scope="module")
def lab_run():
    run = open_run("params/lab.yaml")
    yield run
    run.close()


def test_workers_in_batches_then_the_manager(lab_run):
    assert [[v.name for v in b] for b in batches(lab_run, 1)] == [["worker1"], ["worker2"], ["worker3"], ["manager"]]
    assert [[v.name for v in b] for b in batches(lab_run, 2)] == [["worker1", "worker2"], ["worker3"], ["manager"]]
    with pytest.raises(RunbookError, match="all 3 workers") as e:
        batches(lab_run, 3)
    assert "--batch 2" in e.value.fix


def test_members_one_at_a_time_without_a_manager():
    run = open_run("params/ei-integrator-004.yaml")
    try:
        got = [[v.name for v in b] for b in batches(run, 1)]
        assert got and all(len(b) == 1 for b in got)
        assert all(run.views[b[0]].node.role == "member" for b in got)
    finally:
        run.close()


def test_the_plan_names_every_node_and_step(lab_run):
    text = plan_text(lab_run, 1)
    for name in ("worker1", "worker2", "worker3", "manager"):
        assert f"({'manager' if name == 'manager' else 'worker'}," in text and name in text
    for step in ("drain", "apply", "restart", "wait", "return", "prove"):
        assert text.count(f"       {step} ") == 4
    assert text.index("worker3 (worker") < text.index("manager (manager")


def test_drained_vhosts_mark_only_that_node_down(lab_run):
    w1 = lab_run.views["worker1"]
    down = set(node_servers(lab_run, w1))
    assert down == {f"{w1.address}:{w1.ports['pt_http']}", f"{w1.address}:{w1.ports['pt_https']}"}
    for vh in all_vhosts(lab_run.params):
        text = render(vh, down).decode()
        assert render(vh, set()).decode() == vh.text()  # returning writes exactly what 01/02 write
        for server in vh.upstream.servers:
            assert (f"server {server} down;" in text) == (server in down)
            assert f"server {server}" in text


def test_the_journal_read_back(tmp_path):
    j = Journal(tmp_path)
    j.write(event="start", batch_size=1, batches=[["w1"], ["m"]], pids={"w1": "10", "m": "20"})
    for step in ("drain", "apply"):
        j.write(event="begin", batch=0, step=step)
        j.write(event="done", batch=0, step=step, pids={"w1": "10"})
    j.write(event="begin", batch=0, step="restart")
    j.write(event="node", batch=0, node="w1", pid="11")
    with open(j.path, "a") as f:
        f.write('{"at": "cut by a kill')  # a line half written
    st = j.state()
    assert st.begun == (0, "restart") and st.done[0] == ["drain", "apply"] and st.pids == {"w1": "11", "m": "20"}
    assert not st.batch_done(0) and not st.finished
    j.write(event="resume")
    j.write(event="done", batch=0, step="restart", pids={"w1": "11"})
    st = j.state()
    assert st.begun is None and st.done[0][-1] == "restart"  # the cut line neither hides nor spoils what follows


def test_the_timeline_shows_which_node_was_out_when():
    from runbook_lib.lab.loadgen import LoadResult, Sample
    from runbook_lib.run.rolling_timeline import out_intervals, rollout_window, svg, text
    t0 = 1_000_000.0

    def at(s: float) -> str:
        return datetime.fromtimestamp(t0 + s, timezone.utc).isoformat()
    entries = [{"at": at(2), "event": "begin", "batch": 0, "step": "drain", "nodes": ["worker1"]},
               {"at": at(6), "event": "done", "batch": 0, "step": "return", "nodes": ["worker1"]},
               {"at": at(7), "event": "done", "batch": 0, "step": "prove", "nodes": ["worker1"]}]
    load = LoadResult(2, 10, "t", "s", [Sample(i / 2, 1.0, 502 if i == 9 else 200) for i in range(20)], t0)
    assert out_intervals(entries, t0) == [("worker1", 2.0, 6.0)]
    assert rollout_window(entries, t0) == (2.0, 7.0)
    rows = text(load, entries).splitlines()
    assert rows[1].split() == ["0", "9", "1", "worker1"] and rows[2].split() == ["5", "10", "0", "worker1"]
    assert "worker1 out" in svg(load, entries) and "1 failed" in svg(load, entries)


def test_the_cli_refuses_sections_or_hosts_with_rolling_and_a_batch_of_every_worker(capsys):
    from runbook_lib.cli import main
    assert main(["run", "params/lab.yaml", "--rolling", "--hosts", "node206"]) == 1
    assert "--rolling chooses its own sections and nodes" in capsys.readouterr().err
    assert main(["run", "params/lab.yaml", "--rolling", "--batch", "3"]) == 1
    assert "would take all 3 workers" in capsys.readouterr().err
    assert main(["run", "params/lab.yaml", "--rolling"]) == 0
    assert "4. manager (manager, node206)" in capsys.readouterr().out
