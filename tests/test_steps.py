"""The step shape without the lab: a config-file step reads its file once for
the plan and the apply that follows it; a Change carries its host, path and
edits as data; the run record keeps them and the run summary reads them from
there, never from a message's text."""

from __future__ import annotations

import json
from contextlib import contextmanager

import runbook_lib as rb
from runbook_lib.core.recorder import Recorder
from runbook_lib.run.runner import difference
from runbook_lib.sections.nodes import clustering as cl
from runbook_lib.sections.shared.filestep import HostsStep

from .conftest import PARAMS_LAB, ROOT

SKELETON = ROOT / "runbook_lib" / "lab" / "skeletons" / "ei-6.1.1"


class FakeHost:
    """Files in memory; counts reads and keeps what is written."""

    def __init__(self, name: str, files: dict[str, bytes]) -> None:
        self.name, self.files, self.reads, self.writes, self.prefetches = name, files, 0, [], []

    def read_file(self, path: str, sudo: bool = False) -> bytes | None:
        self.reads += 1
        return self.files.get(path)

    @contextmanager
    def prefetched(self, paths):
        self.prefetches.append(list(paths))
        yield

    def write_file(self, path: str, data: bytes, *, sudo: bool = False, mode: int | None = None,
                   before: object = None) -> str | None:
        self.files[path] = data
        self.writes.append(path)
        return None


def _run_with(host_name: str, files: dict[str, bytes]):
    run = rb.open_run(PARAMS_LAB, apply=True)
    fake = FakeHost(host_name, files)
    run.hosts[host_name] = fake
    return run, fake


def test_the_plan_read_serves_the_apply_and_the_checks_read_once_after_the_write():
    run = rb.open_run(PARAMS_LAB, apply=True)
    v = run.views["manager"]
    path = v.file("axis2")
    run.hosts[v.host_name] = fake = FakeHost(v.host_name, {path: (SKELETON / "conf/axis2/axis2.xml").read_bytes()})
    plan = rb.Plan("t", [cl.FILES["axis2"].operation(run, v)])
    shown = plan.preview()
    assert fake.reads == 1 and not fake.writes and shown.changed
    done = plan.apply()
    assert fake.reads == 1 and fake.writes == [path]  # the plan's bytes, written as shown
    change = done.changes[0]
    assert (change.host, change.path) == (v.host_name, path)
    made = [e for e in change.edits if e.changed]
    assert made and all(e.text in change.summary for e in made)
    assert any(e.what.endswith("@enable") and (e.before, e.after) == ("false", "true") for e in made)
    assert all(c.ok for c in cl.FILES["axis2"].checks(run, v)) and fake.reads == 2
    again = plan.apply()  # no preview before it: it reads the file itself, and finds nothing to do
    assert fake.reads == 3 and not again.changed and len(fake.writes) == 1


def test_a_preview_reads_each_hosts_files_in_one_go_and_the_apply_after_it_reads_none():
    """Operation.reads: the files of all a host's operations are fetched together before
    they run (Host.prefetched: one command on a real host), in a preview or in an apply
    with no preview before it; an apply after a preview has the bytes already (Carried)."""
    run = rb.open_run(PARAMS_LAB, apply=True)
    v = run.views["manager"]
    files = {v.file(k): (SKELETON / rel).read_bytes() for k, rel in
             (("axis2", "conf/axis2/axis2.xml"), ("carbon", "conf/carbon.xml"))}
    run.hosts[v.host_name] = fake = FakeHost(v.host_name, files)
    plan = rb.Plan("t", [cl.FILES[k].operation(run, v) for k in ("axis2", "carbon")])
    plan.preview()
    assert fake.prefetches == [[v.file("axis2"), v.file("carbon")]] and fake.reads == 2
    plan.apply()
    assert len(fake.prefetches) == 1 and fake.reads == 2
    fresh = rb.Plan("t", [cl.FILES[k].operation(run, v) for k in ("axis2", "carbon")])
    fresh.apply()  # no preview: the apply reads, and fetches together as well
    assert len(fake.prefetches) == 2 and fake.reads == 4


def test_hosts_step_carries_the_planned_bytes_too():
    run, fake = _run_with("node206", {"/etc/hosts": b"127.0.0.1\tlocalhost\n"})
    plan = rb.Plan("t", [HostsStep((("198.51.100.10", "carbondb.mysql-wso2.com"),)).operation(run, "node206")])
    plan.preview()
    plan.apply()
    assert fake.reads == 1 and fake.files["/etc/hosts"].endswith(b"198.51.100.10\tcarbondb.mysql-wso2.com\n")


def test_the_record_keeps_changes_as_data_and_the_summary_reads_them(tmp_path):
    run = rb.open_run(PARAMS_LAB)
    v = run.views["worker2"]
    path = v.file("axis2")
    run.hosts[v.host_name] = FakeHost(v.host_name, {path: (SKELETON / "conf/axis2/axis2.xml").read_bytes()})
    report = rb.Plan("06 axis2.xml", [cl.FILES["axis2"].operation(run, v)]).preview()
    rec = Recorder(str(tmp_path / "record.jsonl"), "06_workers")
    rec.add(report)
    entry = json.loads((tmp_path / "record.jsonl").read_text())
    assert entry["hosts"] == [v.host_name] and rec.unapplied_hosts() == {v.host_name}
    change = entry["changes"][0]
    assert change["path"] == path and change["pending"] == [e["text"] for e in change["edits"] if e["changed"]]
    line = difference(change)
    assert line.startswith(f"{v.host_name}  {path}: ") and "already" not in line
    assert line.endswith("more (see the report)") == (len(change["pending"]) > 3)


def test_a_test_step_yields_its_findings_and_the_cell_stops_at_the_first_failure(monkeypatch):
    """08: library functions yield what they find; ``do`` verifies each before the next step runs."""
    from types import SimpleNamespace

    from runbook_lib.core.errors import CheckFailed
    from runbook_lib.sections.cluster import lifecycle as ct
    monkeypatch.setattr(ct, "members_of", lambda run: ["a member"])
    ran: list[str] = []

    def steps():
        ran.append("stop")
        yield rb.Checks("stop", [rb.Check("h", "stopped", "yes", "yes", True)])
        ran.append("left")
        yield rb.Checks("left", [rb.Check("h", "logged as left", "yes", "no", False)])
        ran.append("restart")

    run = SimpleNamespace(apply=True, recorder=Recorder())
    try:
        ct.do(run, "route around", steps)
    except CheckFailed as e:
        assert "logged as left" in str(e)
    else:
        raise AssertionError("a failed finding must stop the cell")
    assert ran == ["stop", "left"]
