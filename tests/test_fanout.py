"""The per-host fan-out (runbook_lib/remote/fanout.py), without the lab: results in
item order, hosts concurrently, one host's items one after another, every
error kept with its item, and progress kept out of headless output."""

from __future__ import annotations

import threading
import time
from contextlib import contextmanager

import pytest

from runbook_lib.remote import fanout
from runbook_lib.core.change import Change
from runbook_lib.core.errors import RunbookError
from runbook_lib.core.step import Operation, Plan


@pytest.fixture(autouse=True)
def _bound():
    fanout.configure(8)
    yield
    fanout.configure(None)


def test_results_in_item_order_hosts_concurrent_one_host_serial():
    items = [(f"h{i % 4}", i) for i in range(16)]  # 4 hosts, 4 items each
    active: dict[str, int] = {}
    most: dict[str, int] = {}
    lock = threading.Lock()
    overall = {"now": 0, "max": 0}

    def fn(item):
        host, i = item
        with lock:
            active[host] = active.get(host, 0) + 1
            most[host] = max(most.get(host, 0), active[host])
            overall["now"] += 1
            overall["max"] = max(overall["max"], overall["now"])
        time.sleep(0.05)
        with lock:
            active[host] -= 1
            overall["now"] -= 1
        return i * 10

    t0 = time.monotonic()
    results = fanout.by_host(items, lambda it: it[0], fn)
    took = time.monotonic() - t0
    assert [r.get() for r in results] == [i * 10 for i in range(16)]
    assert max(most.values()) == 1  # never two items of one host at once
    assert overall["max"] > 1  # several hosts at once
    assert took < 16 * 0.05  # not one after another


def test_one_hosts_failure_is_kept_with_its_items_and_hides_nothing():
    items = ["a1", "b1", "a2", "c1"]

    def fn(item):
        if item.startswith("b"):
            raise RunbookError(f"{item}: cannot connect")
        return item.upper()

    results = fanout.by_host(items, lambda it: it[0], fn)
    assert [r.ok for r in results] == [True, False, True, True]
    assert [r.value for r in results if r.ok] == ["A1", "A2", "C1"]
    assert "b1: cannot connect" in str(results[1].error)
    with pytest.raises(RunbookError, match="b1: cannot connect"):
        fanout.map_hosts(items, lambda it: it[0], lambda it: [fn(it)])


def test_plan_reports_every_failed_host_after_all_ran():
    ran = []

    def op(host: str, fail: bool) -> Operation:
        def fn(dry_run: bool) -> Change:
            ran.append(host)
            if fail:
                raise RunbookError(f"{host}: cannot connect to {host}")
            return Change(f"{host}:/f", False, "as intended")
        return Operation(f"{host}:/f", fn, host)

    plan = Plan("t", [op("h1", False), op("h2", True), op("h3", False), op("h4", True)])
    with pytest.raises(RunbookError) as e:
        plan.preview()
    assert sorted(ran) == ["h1", "h2", "h3", "h4"]
    assert "2 operations failed (2 others completed)" in e.value.message
    assert "h2: cannot connect" in e.value.message and "h4: cannot connect" in e.value.message
    assert "h1" not in e.value.message and "h3" not in e.value.message
    # one failure: that error itself, as before
    single = Plan("t", [op("h1", False), op("h2", True)])
    with pytest.raises(RunbookError, match=r"h2: cannot connect to h2"):
        single.apply()


def test_progress_goes_to_the_progress_file_headless_never_to_stdout(tmp_path, monkeypatch, capsys):
    log = tmp_path / "progress.log"
    monkeypatch.setenv("RUNBOOK_HEADLESS", "1")
    monkeypatch.setenv("RUNBOOK_PROGRESS", str(log))
    monkeypatch.setattr(fanout.Progress, "DELAY", 0.0)
    fanout.by_host([f"h{i}" for i in range(6)], lambda h: h, lambda h: time.sleep(0.6), label="02 step")
    lines = log.read_text().splitlines()
    assert lines and lines[-1].startswith("02 step: all 6 hosts done in ")
    assert any("hosts done (" in x for x in lines[:-1])
    assert capsys.readouterr().out == ""


def test_around_opens_once_per_host_around_its_items_and_its_failure_is_theirs():
    """by_host's AROUND (Plan: a host's files fetched before its operations): entered once
    per host, before the host's first item and left after its last; a context that fails
    to open gives its error to that host's items and no other's."""
    log: list[tuple[str, object]] = []
    lock = threading.Lock()

    @contextmanager
    def around(host):
        if host == "bad":
            raise RunbookError("bad: cannot prefetch")
        with lock:
            log.append((host, "open"))
        yield
        with lock:
            log.append((host, "close"))

    def fn(item):
        with lock:
            log.append(item)
        return item[1]

    items = [("a", 1), ("b", 2), ("a", 3), ("bad", 4), ("b", 5)]
    results = fanout.by_host(items, lambda x: x[0], fn, around=around)
    assert [r.value for r in results if r.ok] == [1, 2, 3, 5]
    assert "cannot prefetch" in str(results[3].error)
    for host in ("a", "b"):
        mine = [e for e in log if e[0] == host]
        assert mine[0] == (host, "open") and mine[-1] == (host, "close") and len(mine) == 4
    assert not [e for e in log if e[0] == "bad"]
