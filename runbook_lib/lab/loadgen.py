"""A bounded load generator for the lab: requests through the load balancer
at a fixed rate for a fixed time, then it stops by itself.

Used by the rolling-apply tests and benchmark (issue 21) to prove that no
request is dropped while nodes are restarted. Bounded on purpose:

- only lab addresses (the params' lab subnet, after the instance's
  translation) or loopback are accepted as targets: never anything else;
- at most MAX_RATE requests per second, for at most MAX_SECONDS;
- it runs from a lab host (inside that host's network namespace, as
  ``python -m runbook_lib.lab.loadgen``) or from this process.

Each request is sent at its scheduled time (t0 + i/rate) on its own thread
of a bounded pool, so a slow answer does not slow the rate down (open loop);
a request still unanswered at the end waits at most TIMEOUT seconds.
The result: sent, failed (anything but the expected status, or no answer),
latency percentiles and a per-request timeline."""

from __future__ import annotations

import argparse
import http.client
import ipaddress
import json
import math
import os
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ..facts.tls import unverified_context

MAX_RATE = 200.0  # requests per second
MAX_SECONDS = 900.0
TIMEOUT = 10.0  # per request
POOL = 64  # requests in flight at most
ROOT = Path(__file__).resolve().parents[2]


class LoadError(ValueError):
    """A load the generator refuses to send (not a lab address, too much, too long)."""


@dataclass(frozen=True)
class Target:
    address: str
    port: int
    host_header: str
    path: str
    method: str = "GET"
    body: bytes | None = None
    tls: bool = False
    expect: int = 200


@dataclass(frozen=True)
class Sample:
    t: float  # seconds from the start of the load to the request's scheduled time
    ms: float  # latency, milliseconds
    status: int  # HTTP status, 0 when no answer
    error: str = ""


@dataclass
class LoadResult:
    rate: float
    seconds: float
    target: str
    source: str
    samples: list[Sample] = field(default_factory=list)
    started_at: float = 0.0  # wall clock (time.time()) of t = 0

    @property
    def sent(self) -> int:
        return len(self.samples)

    def failures(self, expect: int = 200) -> list[Sample]:
        return [s for s in self.samples if s.status != expect]

    @property
    def failed(self) -> int:
        return len(self.failures())

    def percentile(self, q: float) -> float:
        """Latency at quantile Q (0-100) of the answered requests, nearest rank."""
        lat = sorted(s.ms for s in self.samples if s.status)
        if not lat:
            return 0.0
        k = max(0, min(len(lat) - 1, math.ceil(q / 100 * len(lat)) - 1))
        return lat[k]

    def per_second(self) -> list[tuple[int, int, int]]:
        """(second, answered as expected, failed) for each second of the load."""
        rows: dict[int, list[int]] = {}
        for s in self.samples:
            row = rows.setdefault(int(s.t), [0, 0])
            row[0 if s.status == 200 else 1] += 1
        return [(sec, ok, bad) for sec, (ok, bad) in sorted(rows.items())]

    def text(self) -> str:
        lines = [f"load: {self.sent} requests at {self.rate:g}/s for {self.seconds:g}s to {self.target} "
                 f"(from {self.source}): {self.failed} failed; latency p50 {self.percentile(50):.1f} ms, "
                 f"p95 {self.percentile(95):.1f} ms, p99 {self.percentile(99):.1f} ms"]
        for s in self.failures()[:10]:
            lines.append(f"  failed at {s.t:6.2f}s: {s.status or 'no answer'} {s.error}".rstrip())
        if self.failed > 10:
            lines.append(f"  … and {self.failed - 10} more")
        return "\n".join(lines)

    def to_json(self) -> dict:
        d = asdict(self)
        d.update(sent=self.sent, failed=self.failed,
                 p50=self.percentile(50), p95=self.percentile(95), p99=self.percentile(99))
        return d

    @classmethod
    def from_json(cls, d: dict) -> "LoadResult":
        return cls(d["rate"], d["seconds"], d["target"], d["source"], [Sample(**s) for s in d["samples"]],
                   d.get("started_at", 0.0))


def check_bounds(target: Target, rate: float, seconds: float, subnets: list[str]) -> None:
    """Refuse anything but a lab address or loopback, and an unbounded load."""
    addr = ipaddress.ip_address(target.address)
    nets = [ipaddress.ip_network(s, strict=False) for s in subnets]
    if not (addr.is_loopback or any(addr in n for n in nets)):
        raise LoadError(f"{target.address} is not a lab address ({', '.join(subnets) or 'no lab subnet'}) nor "
                        "loopback: the load generator sends only to the lab")
    if not 0 < rate <= MAX_RATE:
        raise LoadError(f"rate {rate}/s: must be above 0 and at most {MAX_RATE:g}/s")
    if not 0 < seconds <= MAX_SECONDS:
        raise LoadError(f"{seconds}s: must be above 0 and at most {MAX_SECONDS:g}s")


def one_request(t: Target) -> tuple[int, str]:
    if t.tls:
        conn: http.client.HTTPConnection = http.client.HTTPSConnection(  # the lab's own certificates
            t.address, t.port, timeout=TIMEOUT, context=unverified_context())
    else:
        conn = http.client.HTTPConnection(t.address, t.port, timeout=TIMEOUT)
    try:
        conn.request(t.method, t.path, body=t.body, headers={"Host": t.host_header, "Content-Type": "application/xml",
                                                             "Connection": "close"})
        r = conn.getresponse()
        r.read()
        return r.status, ""
    except OSError as e:  # refused, reset, timed out
        return 0, f"{type(e).__name__}: {e}"[:120]
    except http.client.HTTPException as e:
        return 0, f"{type(e).__name__}: {e}"[:120]
    finally:
        conn.close()


def send(target: Target, rate: float, seconds: float, stop: threading.Event | None = None) -> LoadResult:
    """Send the load in this process: N = rate * seconds requests, each at its time."""
    n = int(round(rate * seconds))
    result = LoadResult(rate, seconds, f"{target.address}:{target.port} Host: {target.host_header}", "this process")
    lock = threading.Lock()

    def fire(i: int, t_sched: float) -> None:
        t1 = time.monotonic()
        status, err = one_request(target)
        with lock:
            result.samples.append(Sample(round(i / rate, 3), round((time.monotonic() - t1) * 1000, 2), status, err))

    result.started_at = time.time()
    t0 = time.monotonic()
    with ThreadPoolExecutor(POOL, thread_name_prefix="loadgen") as pool:
        for i in range(n):
            wait = t0 + i / rate - time.monotonic()
            if stop is not None and stop.wait(max(0.0, wait)):
                break
            if stop is None and wait > 0:
                time.sleep(wait)
            pool.submit(fire, i, i / rate)
    if stop is not None and stop.is_set():  # ended early: the time it ran
        result.seconds = round(time.monotonic() - t0, 1)
    result.samples.sort(key=lambda s: s.t)
    return result


class Load:
    """A load running in the background: from a lab host's namespace (NS) or
    from this process (NS = None). ``result()`` waits for it to end."""

    def __init__(self, target: Target, rate: float, seconds: float, subnets: list[str], ns: str | None = None):
        check_bounds(target, rate, seconds, subnets)
        self.target, self.rate, self.seconds, self.ns, self.subnets = target, rate, seconds, ns, subnets
        self._stop = threading.Event()
        self._result: LoadResult | None = None
        self._proc: subprocess.Popen | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> "Load":
        if self.ns:
            cmd = ["ip", "netns", "exec", self.ns, sys.executable, "-m", "runbook_lib.lab.loadgen",
                   "--address", self.target.address, "--port", str(self.target.port), "--host-header",
                   self.target.host_header, "--path", self.target.path, "--method", self.target.method,
                   "--rate", str(self.rate), "--seconds", str(self.seconds)]
            cmd += [x for net in self.subnets for x in ("--subnet", net)]
            cmd += ["--tls"] if self.target.tls else []
            cmd += ["--body", self.target.body.decode()] if self.target.body is not None else []
            env = dict(os.environ, PYTHONPATH=str(ROOT))
            self._proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                                          cwd=str(ROOT))
        else:
            self._thread = threading.Thread(target=self._run, daemon=True)
            self._thread.start()
        return self

    def _run(self) -> None:
        self._result = send(self.target, self.rate, self.seconds, self._stop)

    def result(self) -> LoadResult:
        if self._proc is not None:
            out, err = self._proc.communicate(timeout=self.seconds + 4 * TIMEOUT)
            if self._proc.returncode != 0:
                raise LoadError(f"the load generator in {self.ns} failed: {err.strip()[-400:]}")
            res = LoadResult.from_json(json.loads(out))
            res.source = f"lab host namespace {self.ns}"
            return res
        assert self._thread is not None
        self._thread.join(self.seconds + 4 * TIMEOUT)
        assert self._result is not None
        return self._result

    def stop(self) -> "Load":
        """End early: no new request is sent; ``result()`` reports those sent."""
        self._stop.set()
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
        return self


def cluster_load(p, rate: float, seconds: float, marker: str = "runbook-load", source: str | None = None,
                 in_process: bool = False) -> Load:
    """The load for a lab cluster P (loaded params): 08's test artifact by
    the cluster host name through the load balancer's HTTP port, from lab
    host SOURCE (default: the database host, which runs no node and no
    load balancer), or from this process."""
    from ..params import node_views  # params import nothing of the lab's
    from ..products import spec_for
    from .net import ns_name
    if p.lab is None:
        raise LoadError("these params have no lab: section: the load generator sends only to a lab")
    lb = p.load_balancer
    if lb.kind == "elb":
        v = next(v for v in node_views(p).values() if v.node.role == "elb")
        address, port = v.address, v.ports["pt_http"]
    else:
        address, port = str(p.hosts[lb.host or ""].address), lb.http_port
    art = spec_for(p.product.name, p.product.version).artifact
    target = Target(str(address), port, p.cluster.hostnames.cluster, art.url_path.format(marker=marker), art.method,
                    b"<runbook-load/>" if art.method == "POST" else None)
    if source is None:
        busy = {lb.host} | {v.host_name for v in node_views(p).values()}
        source = next((h for h in p.hosts if h not in busy), None)
    ns = None if in_process or source is None else ns_name(source)
    return Load(target, rate, seconds, [str(p.lab.subnet)], ns)


def main(argv: list[str] | None = None) -> int:
    """Inside a lab host's namespace: send the load, print the result as JSON."""
    ap = argparse.ArgumentParser(prog="python -m runbook_lib.lab.loadgen")
    ap.add_argument("--address", required=True)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--host-header", required=True)
    ap.add_argument("--path", default="/")
    ap.add_argument("--method", default="GET")
    ap.add_argument("--body", default=None)
    ap.add_argument("--tls", action="store_true")
    ap.add_argument("--rate", type=float, required=True)
    ap.add_argument("--seconds", type=float, required=True)
    ap.add_argument("--subnet", action="append", default=[], help="lab subnets the address must be in")
    a = ap.parse_args(argv)
    target = Target(a.address, a.port, a.host_header, a.path, a.method,
                    a.body.encode() if a.body is not None else None, a.tls)
    try:
        check_bounds(target, a.rate, a.seconds, a.subnet)
    except LoadError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())  # Load.stop(): end early, still report what was sent
    print(json.dumps(send(target, a.rate, a.seconds, stop).to_json()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
