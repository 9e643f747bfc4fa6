"""The bounded load generator (lab/loadgen.py) without the lab: a local
HTTP server on loopback that fails on purpose for a while."""

from __future__ import annotations

import http.server
import threading
import time

import pytest

from runbook_lib.lab.loadgen import Load, LoadError, LoadResult, Sample, Target, check_bounds


class _Handler(http.server.BaseHTTPRequestHandler):
    """Answers 502 to the first `failing` requests, then 200: by count, not by the
    clock, so a busy machine (the suite runs side by side) cannot move the outage."""
    failing = 0
    lock = threading.Lock()

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        with _Handler.lock:
            status = 502 if _Handler.failing > 0 else 200
            _Handler.failing -= 1
        self.send_response(status)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args) -> None:  # noqa: ANN002
        pass


@pytest.fixture()
def server():
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield srv
    srv.shutdown()
    srv.server_close()


def test_fixed_rate_for_a_fixed_time_counts_failures_and_latency(server):
    target = Target("127.0.0.1", server.server_address[1], "esb.wso2.com", "/services/x")
    _Handler.failing = 20  # the first half second's requests (at 40 a second) answer 502
    t0 = time.monotonic()
    res = Load(target, 40, 1.5, []).start().result()
    took = time.monotonic() - t0
    assert res.sent == 60  # rate x seconds, no more
    assert took > 1.4  # it kept its schedule, and stopped by itself (result() returned)
    bad = res.failures()
    assert len(bad) == 20 and all(s.status == 502 for s in bad)
    assert res.failed == len(bad)
    assert 0 < res.percentile(50) <= res.percentile(95) <= res.percentile(99)
    assert [t for t, _, _ in res.per_second()] == [0, 1]
    assert f"{res.failed} failed" in res.text()
    again = LoadResult.from_json(res.to_json())
    assert again.sent == 60 and again.failed == res.failed


def test_a_closed_port_is_counted_as_failed_not_raised():
    res = Load(Target("127.0.0.1", 9, "x", "/"), 10, 0.3, []).start().result()
    assert res.sent == 3 and res.failed == 3 and all(s.status == 0 and s.error for s in res.samples)


def test_only_lab_addresses_and_bounded_loads():
    lab = ["198.51.100.0/24"]
    check_bounds(Target("198.51.100.11", 80, "h", "/"), 20, 60, lab)
    for addr in ("192.0.2.1", "8.8.8.8", "198.51.101.11"):
        with pytest.raises(LoadError, match="not a lab address"):
            Load(Target(addr, 80, "h", "/"), 20, 60, lab)
    with pytest.raises(LoadError, match="rate"):
        check_bounds(Target("198.51.100.11", 80, "h", "/"), 10_000, 60, lab)
    with pytest.raises(LoadError, match="at most"):
        check_bounds(Target("198.51.100.11", 80, "h", "/"), 20, 100_000, lab)


def test_percentiles_nearest_rank():
    res = LoadResult(1, 100, "t", "s", [Sample(i, float(i + 1), 200) for i in range(100)])
    assert (res.percentile(50), res.percentile(95), res.percentile(99)) == (50.0, 95.0, 99.0)


def test_stopped_early_reports_what_it_sent(server):
    load = Load(Target("127.0.0.1", server.server_address[1], "h", "/"), 20, 60, []).start()
    time.sleep(0.6)
    res = load.stop().result()
    assert 5 <= res.sent <= 20 and res.failed == 0 and res.seconds < 5
