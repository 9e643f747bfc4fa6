"""The rolling apply on a WSO2 ELB layout (document 000 on its own lab; the
ELB and the ESB nodes are the lab's stand-in), issue 21: the ELB has no
drain, so each node is stopped cleanly (it leaves the membership and the
ELB stops routing to it); the load's failed requests, if any, are counted
and each is explained by the rollout's step under way."""

from __future__ import annotations

import re
import subprocess
import sys
import time

import pytest

from runbook_lib.core.context import open_run
from runbook_lib.lab.loadgen import cluster_load
from runbook_lib.run.journal import Journal
from runbook_lib.run.rolling_timeline import explain
from runbook_lib.sections.cluster.traffic import redeploy_for_load
from runbook_lib.sections.cluster import carbonlog as L
from runbook_lib.sections.cluster.lifecycle import members_of, read_log

from .conftest import ROOT
from .ownlab import applied_lab

pytestmark = pytest.mark.lab
PARAMS = ROOT / "params" / "esb-elb-000.yaml"


@pytest.fixture(scope="module")
def elb_run(tmp_path_factory):
    with applied_lab(PARAMS.name, tmp_path_factory.mktemp("run"), skip=("07_broker",)):
        deployed = redeploy_for_load(str(PARAMS))  # 08 removed it at its end; the load requests it
        assert not deployed.failed, deployed.text()
        run = open_run(PARAMS, apply=True)
        try:
            yield run
        finally:
            run.close()


def test_rolling_apply_behind_the_elb_counts_and_explains_failures(elb_run, tmp_path):
    run, domain = elb_run, elb_run.params.cluster.domain
    starts = {}
    for v in members_of(run):
        h, path = run.host(v.host_name), v.file("axis2")
        h.write_file(path, re.sub(f">{re.escape(domain)}<", ">edited<", h.read_file(path).decode(), count=1).encode(),
                     backup=False)
        starts[v.name] = read_log(run, v).count(L.STARTING)
    load = cluster_load(run.params, 20, 600).start()
    time.sleep(2)
    res = subprocess.run([sys.executable, "-m", "runbook_lib.cli", "run", str(PARAMS), "--apply", "--rolling",
                          "--out", str(tmp_path / "r")], capture_output=True, text=True, timeout=900)
    time.sleep(2)
    result = load.stop().result()
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-2000:]
    assert "stop worker1 cleanly through their scripts" in res.stdout  # the plan says how the ELB is drained
    entries = Journal(tmp_path / "r").entries()
    assert any(e.get("said") == "stopped cleanly, left the membership" for e in entries)
    for v in members_of(run):
        assert read_log(run, v).count(L.STARTING) == starts[v.name] + 1, v.name
        assert f">{domain}<" in run.host(v.host_name).read_file(v.file("axis2")).decode()
    lines = explain(result, entries)
    print(result.text(), *lines, sep="\n")
    assert result.sent >= 0.95 * 20 * result.seconds  # at its rate throughout the rollout (not a duration)
    assert len(lines) == min(result.failed, 20)  # every failure counted, each with what the rollout was doing
    assert not any("no node step under way" in line for line in lines), lines
