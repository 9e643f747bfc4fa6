"""The rolling apply in the run report and in JupyterLab (issue 21), without
a lab: index.html of a rollout's folder shows which node was out when (from
the journal alone, or over the load when load.json is there) and explains
each failed request; notebooks/10_rolling_apply.ipynb is valid,
parameterised, outside the run order, and shows the plan with apply=False.
The same report on a real rollout: tests/test_zw_rolling.py."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import nbformat

from runbook_lib.lab.loadgen import LoadResult, Sample
from runbook_lib.run.report import write_report
from runbook_lib.run.report_rolling import save_load

from .nbrun import papermill

T0 = 1_000_000.0


def _at(s: float) -> str:
    return datetime.fromtimestamp(T0 + s, timezone.utc).isoformat(timespec="milliseconds")


def _rollout(folder, finished: bool = True) -> None:
    """A journal as rolling.py writes it: two batches, each out from its drain to its return."""
    lines = [{"at": _at(0), "event": "start", "params_file": "params/lab.yaml", "batch_size": 1,
              "batches": [["worker1"], ["manager"]], "pids": {}}]
    for i, (node, a) in enumerate([("worker1", 2), ("manager", 10)]):
        for k, step in enumerate(("drain", "apply", "restart", "wait", "return", "prove")):
            lines += [{"at": _at(a + k), "event": "begin", "batch": i, "step": step, "nodes": [node]},
                      {"at": _at(a + k + 0.5), "event": "done", "batch": i, "step": step, "nodes": [node],
                       "said": f"{node} {step} said", "seconds": 0.5}]
    lines += [{"at": _at(20), "event": "finished"}] if finished else []
    (folder / "journal.jsonl").write_text("".join(json.dumps(e) + "\n" for e in lines))
    (folder / "batch1").mkdir()
    (folder / "batch1" / "index.html").write_text("<html></html>")


def test_a_rollout_without_load_shows_the_out_and_in_times_from_the_journal(tmp_path):
    _rollout(tmp_path)
    page = write_report(tmp_path).read_text()  # `runbook report RUN` on a rolling folder
    assert "ROLLED" in page and "no load.json" in page
    assert "<svg" in page and "out 4.5s" in page  # worker1: drain begun at 2 s, return done at 6.5 s
    rows = page.split("id='out-times'")[1].split("</table>")[0]
    assert "<td>worker1</td><td>2.0</td><td>6.5</td><td>4.5</td>" in rows
    assert "<td>manager</td><td>10.0</td><td>14.5</td>" in rows
    assert "worker1 restart said" in page and "href='batch1/index.html'" in page


def test_a_rollout_with_load_shows_the_requests_and_explains_each_failure(tmp_path):
    _rollout(tmp_path, finished=False)
    samples = [Sample(i / 2, 3.0, 502 if i == 9 else 200, "bad gateway" if i == 9 else "") for i in range(40)]
    save_load(tmp_path, LoadResult(2, 20, "nginx", "node200", samples, T0))
    page = write_report(tmp_path).read_text()
    assert "UNFINISHED" in page and "40 requests" in page and "1 failed" in page
    assert "worker1 out" in page and "manager out" in page  # the grey bands over the requests
    failures = page.split("id='failures'>")[1].split("</ul>")[0]
    assert "failed at 4.50s" in failures and "worker1: restart" in failures  # restart ran 4 s to 4.5 s


NB = "10_rolling_apply"


def test_the_rolling_notebook_is_valid_parameterised_and_outside_the_run_order():
    from runbook_lib.run.runner import NOTEBOOKS, OUTSIDE_RUN_ORDER, sections
    nb = nbformat.read(NOTEBOOKS / f"{NB}.ipynb", as_version=4)
    nbformat.validate(nb)
    assert NB in OUTSIDE_RUN_ORDER and NB not in sections() and sections()[-1] == "08_test_cluster"
    params = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(params) == 1 and "apply = False" in params[0].source and "batch = 1" in params[0].source
    assert nb.metadata["kernelspec"]["name"] == "wso2-runbook"
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(not c.outputs and c.execution_count is None for c in code)  # committed without outputs
    src = "\n".join(c.source for c in code)
    assert "run_rolling(" in src and "plan_text(" in src and "resume(" in src  # the CLI's own calls


def test_the_rolling_notebook_shows_the_plan_and_changes_nothing(tmp_path):
    res, text = papermill(f"{NB}.ipynb", tmp_path / "10.ipynb")
    assert res.returncode == 0, res.stderr[-2000:]
    assert "rolling apply plan for" in text and "4. manager (manager, node206)" in text
    assert "apply = False: nothing was changed" in text
