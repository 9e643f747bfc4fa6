"""Concurrency does not mix hosts up (issue 10): on the lab (six nodes on four
node hosts, worked on at once), a host whose sshd is stopped is reported for
that host only, and every other host's result is the same as in a clean run:
the plan's changes, the checks read back from the files, the /etc/hosts
lookups."""

from __future__ import annotations

import os
import signal

import pytest

import runbook_lib as rb
from runbook_lib.remote import fanout
from runbook_lib.lab import api as labmod
from runbook_lib.core.errors import ConnectError, RunbookError
from runbook_lib.params.derive import hosts_entries
from runbook_lib.sections.nodes import clustering
from runbook_lib.sections.shared.filestep import hosts_checks

from .conftest import PARAMS_LAB, skip_if_shared

pytestmark = pytest.mark.lab
ROLES = ("manager", "worker", "broker")
DOWN = "node132"  # worker2 and worker3


def _outcomes(run) -> dict[str, list[tuple[str, object]]]:
    """Per step: (host, value or error) per item, in the step's order."""
    plan = clustering.plan_axis2(run, ROLES)
    nodes = [v for v in run.selected_nodes(ROLES) if clustering.FILES["axis2"].applies_to(v)]
    hosts = list(dict.fromkeys(v.host_name for v in nodes))
    steps = {
        "plan": (plan.operations, lambda op: op.host, lambda op: op.run(True)),
        "checks": (nodes, lambda v: v.host_name, lambda v: clustering.FILES["axis2"].checks(run, v)),
        "hosts": (hosts, lambda h: h, lambda h: hosts_checks(run, [h], hosts_entries(run.params), "fix")),
    }
    out = {}
    for name, (items, host_of, fn) in steps.items():
        results = fanout.by_host(items, host_of, fn)
        out[name] = [(host_of(item), r.value if r.ok else r.error) for item, r in zip(items, results)]
    return out


def test_a_host_down_is_reported_alone_and_the_others_match_a_clean_run(lab, lab_params):
    skip_if_shared()
    fanout.configure(8)
    clean_run = rb.open_run(PARAMS_LAB)
    try:
        clean = _outcomes(clean_run)
    finally:
        clean_run.close()
    hosts_seen = {h for items in clean.values() for h, _ in items}
    assert {"node206", DOWN, "broker1", "broker2"} <= hosts_seen  # several hosts in every step
    assert not [v for items in clean.values() for _, v in items if isinstance(v, BaseException)]

    # read afresh: an earlier test module may have rebuilt the lab since the session began
    os.kill(labmod.status(lab_params)["hosts"][DOWN]["services"]["sshd"]["pid"], signal.SIGTERM)
    try:
        run = rb.open_run(PARAMS_LAB)
        try:
            faulty = _outcomes(run)
            with pytest.raises(RunbookError) as e:
                clustering.plan_axis2(run, ROLES).preview()
        finally:
            run.close()
        for step, items in faulty.items():
            assert [h for h, _ in items] == [h for h, _ in clean[step]]  # same items, same order
            for (host, value), (_, before) in zip(items, clean[step]):
                if host == DOWN:
                    assert isinstance(value, ConnectError) and value.host == DOWN, (step, value)
                else:
                    assert value == before, (step, host)  # identical Change / Check list
        # the plan's error names the host that is down, and only it
        assert DOWN in e.value.message and "2 operations failed (4 others completed)" in e.value.message
        assert not [h for h in hosts_seen - {DOWN} if h in e.value.message]
    finally:
        labmod.up(lab_params, PARAMS_LAB, log=lambda *_: None)  # repairs: restarts only what died
        assert labmod.status(lab_params)["healthy"]
