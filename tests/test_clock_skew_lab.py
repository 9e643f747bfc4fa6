"""E17 on the lab: 00 compares the node hosts' clocks with each other over SSH.

The lab's hosts are network namespaces of one machine and share its clock, so
no lab host can really drift. This test fakes it, and says so: it puts a
command in clocks.LAB_CLOCK_HOOKS for node132 that reads node132's real clock
over SSH and adds 5 s in the shell (`awk`). Everything after that command (the
SSH round trips, the midpoint estimate, the comparison host against host, the
threshold, the fix) is the code a real cluster runs."""

from __future__ import annotations

import pytest

import runbook_lib as rb
from runbook_lib.sections.hosts import clocks, preflight_checks as preflight

from .conftest import PARAMS_LAB

pytestmark = pytest.mark.lab
FIVE_SECONDS_AHEAD = "date +%s.%N | awk '{printf \"%.9f\\n\", $1 + 5}'"


@pytest.fixture()
def run(lab):
    r = rb.open_run(PARAMS_LAB)
    yield r
    r.close()


def _clock_rows(checks):
    return [c for c in checks.checks if "clock" in c.what]


def test_in_sync_lab_passes_host_against_host(run, monkeypatch):
    """The clocks are read in preflight's one command to each host: in sync, no
    command of their own (a second round only while a check fails)."""
    extra: list[str] = []
    firsts: list[dict] = []
    real_read, real_measure = clocks.read_clock, clocks.measure
    monkeypatch.setattr(clocks, "read_clock", lambda r, h: extra.append(h) or real_read(r, h))
    monkeypatch.setattr(clocks, "measure", lambda r, hs, limit=0, first=None: firsts.append(first or {})
                        or real_measure(r, hs, limit, first))
    rows = _clock_rows(preflight.host_checks(run))
    hosts = list(dict.fromkeys(v.host_name for v in run.selected_nodes()))
    assert len(rows) == len(hosts) + 1 and all(c.ok for c in rows), [str(c) for c in rows]
    assert not any("this machine" in c.what for c in rows)
    assert set(firsts[0]) == set(hosts)  # every node host's clock came with preflight's command
    if max(r.rtt for r in firsts[0].values()) < 0.4:  # bounds well within the 1000 ms threshold
        assert extra == []


def test_one_node_host_off_by_5s_fails_with_the_fix(run):
    clocks.LAB_CLOCK_HOOKS["node132"] = FIVE_SECONDS_AHEAD  # how the lab fakes skew (module docstring)
    try:
        rows = _clock_rows(preflight.host_checks(run))
    finally:
        clocks.LAB_CLOCK_HOOKS.clear()
    failed = [c for c in rows if not c.ok]
    assert {c.host for c in failed if "median" in c.what} == {"node132"}, [str(c) for c in rows]
    gate = rows[-1]
    assert not gate.ok and "node132 ahead of" in gate.found
    spread = int(gate.found.split()[0])
    assert 4900 <= spread <= 5100, gate.found
    assert "node132" in gate.fix and "timedatectl set-ntp true" in gate.fix and "E17" in gate.fix
