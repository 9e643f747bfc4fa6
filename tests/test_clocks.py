"""E17 for every layout: clock skew measured host against host (clocks.py),
never against this machine's wall clock. Fake hosts here answer `date +%s.%N`
from a shared "true time" plus their own offset; the lab test
(tests/test_zx_docgaps.py) reads real hosts over SSH."""

from __future__ import annotations

import re
import time
from types import SimpleNamespace

import pytest

from runbook_lib.params import load_params, node_views
from runbook_lib.sections.hosts import clocks

from .conftest import ROOT


class _Host:
    """A host whose clock is OFFSET s from true time, answering after DELAY s."""

    def __init__(self, offset: float, delay: float = 0.0):
        self.offset, self.delay, self.reads = offset, delay, 0

    def check(self, cmd: str):
        assert cmd == clocks.CLOCK_COMMAND
        self.reads += 1
        time.sleep(self.delay)
        return SimpleNamespace(stdout=f"{1_800_000_000 + time.monotonic() + self.offset:.9f}\n")


def _run(offsets: dict[str, float], delays: dict[str, float] | None = None, limit: int = 1000):
    p = load_params(ROOT / "params" / "lab.yaml")
    p = p.model_copy(update={"cluster": p.cluster.model_copy(update={"max_clock_skew_ms": limit})})
    hosts = {h: _Host(o, (delays or {}).get(h, 0.0)) for h, o in offsets.items()}
    views = [v for v in node_views(p).values() if v.host_name in hosts]
    return SimpleNamespace(params=p, selected_nodes=lambda roles=None: views, host=hosts.__getitem__)


LAB_NODE_HOSTS = ("node206", "node132", "broker1", "broker2")


def test_in_sync_hosts_pass_whatever_this_machines_clock_says(monkeypatch):
    monkeypatch.setattr(time, "time", lambda: 0.0)  # a control machine stuck in 1970 changes nothing
    checks = clocks.cluster_skew_checks(_run({h: 0.05 for h in LAB_NODE_HOSTS}))
    assert len(checks) == len(LAB_NODE_HOSTS) + 1 and all(c.ok for c in checks), [str(c) for c in checks]


def test_one_host_off_is_named_with_the_fix():
    offsets = {h: 0.0 for h in LAB_NODE_HOSTS} | {"node132": 5.0}
    checks = clocks.cluster_skew_checks(_run(offsets))
    failed = [c for c in checks if not c.ok]
    assert [c.host for c in failed if "median" in c.what] == ["node132"]
    gate = checks[-1]
    assert not gate.ok and gate.what == "clock skew across the cluster's hosts"
    # the skew as measured, within the bound it states (one quick read per host: that bound is its round trip)
    skew, bound = (int(x) for x in re.match(r"(\d+) ms \(±(\d+) ms", gate.found).groups())
    assert abs(skew - 5000) <= bound + 1, gate.found
    assert "node132 ahead of" in gate.found
    assert "node132" in gate.fix and "timedatectl set-ntp true" in gate.fix and "E17" in gate.fix


def test_two_hosts_cannot_tell_which_is_wrong():
    checks = clocks.skew_checks(clocks.measure(_run({"node206": 0.0, "node132": 3.0}), ["node206", "node132"]),
                                1000, "cluster's hosts")
    assert "node206 or node132" in checks[-1].fix and not checks[-1].ok


def test_a_slow_round_trip_never_passes_an_unmeasured_skew():
    """In sync, but one read takes 0.3 s: the bound (±) exceeds a 100 ms limit, so it fails."""
    run = _run({"node206": 0.0, "node132": 0.0}, {"node132": 0.3}, limit=100)
    gate = clocks.cluster_skew_checks(run)[-1]
    assert not gate.ok and "±" in gate.found


def test_hosts_are_read_again_only_while_a_check_fails():
    """In sync, every host is read once, a slow one too (issue 23: at 128 workers the
    second and third reads were 240 more commands); while a check fails, the hosts
    whose round trip is not yet within 2% of the threshold are read again, up to
    READS times, the fastest kept."""
    run = _run({"node206": 0.0, "node132": 0.0}, {"node132": 0.05}, limit=1000)
    readings = {r.host: r for r in clocks.measure(run, ["node206", "node132"], 1000)}
    assert run.host("node206").reads == 1 and run.host("node132").reads == 1
    assert all(c.ok for c in clocks.skew_checks(list(readings.values()), 1000, "hosts"))
    run = _run({"node206": 0.0, "node132": 5.0}, {"node132": 0.05}, limit=1000)
    readings = {r.host: r for r in clocks.measure(run, ["node206", "node132"], 1000)}
    assert run.host("node132").reads == clocks.READS and readings["node132"].rtt >= 0.05
    before = run.host("node206").reads
    clocks.measure(run, ["node206"])  # no threshold given: every round taken
    assert run.host("node206").reads - before == clocks.READS


def test_readings_already_taken_are_the_first_round():
    """Preflight's own command read the clocks: in sync, nothing more is read; a host
    without such a reading is read; a failing check reads the slow hosts again."""
    run = _run({"node206": 0.0, "node132": 0.0, "broker1": 0.0})
    first = {h: clocks.read_clock(run, h) for h in ("node206", "node132")}
    readings = clocks.measure(run, ["node206", "node132", "broker1"], 1000, first)
    assert [r.host for r in readings] == ["node206", "node132", "broker1"]
    assert [run.host(h).reads for h in ("node206", "node132", "broker1")] == [1, 1, 1]
    slow = clocks.Reading("node132", first["node132"].offset + 5.0, 0.05)  # 5 s off, read slowly
    readings = clocks.measure(run, ["node206", "node132"], 1000, {"node206": first["node206"], "node132": slow})
    assert run.host("node132").reads == 2  # the check failed: read again, the faster reading kept (in sync)
    assert all(c.ok for c in clocks.skew_checks(readings, 1000, "hosts"))


def test_single_host_layout_has_nothing_to_compare():
    assert clocks.cluster_skew_checks(_run({"node206": 9.0})) == []


@pytest.mark.parametrize("value", [0, 60001, "1s"])
def test_threshold_is_validated(tmp_path, value):
    import yaml
    from runbook_lib.params.load import ParamsError
    raw = yaml.safe_load((ROOT / "params/lab.yaml").read_text())
    raw["cluster"]["max_clock_skew_ms"] = value
    f = tmp_path / "p.yaml"
    f.write_text(yaml.safe_dump(raw))
    with pytest.raises(ParamsError) as e:
        load_params(f)
    assert "cluster.max_clock_skew_ms" in str(e.value)
