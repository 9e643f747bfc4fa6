"""Benchmark: how long notebook 08's steps take on the lab (the stand-in
behind every product home). Prints figures; asserts nothing.

    flock /tmp/rblab.lock .venv/bin/python benchmarks/bench_cluster_test.py [--rounds N] [--requests N]

Needs root. Each round brings a fresh lab up, applies 00-06, then times
start to all joined, proxy to all workers, the request run, a stopped
worker seen as left, and a restarted worker taking traffic again. Takes the
lab down at the end.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import runbook_lib as rb
from runbook_lib.lab import control as lab
from runbook_lib.params import load_params
from runbook_lib.run.runner import run_sections
from runbook_lib.sections.cluster import lifecycle as ct
from runbook_lib.sections.cluster import traffic as tr

ROOT = Path(__file__).resolve().parent.parent
PARAMS = ROOT / "params" / "lab.yaml"


def one_round(requests: int) -> dict[str, float]:
    p = load_params(PARAMS)
    quiet = {"log": lambda *_: None}
    lab.down(p, **quiet)
    lab.up(p, PARAMS, **quiet)
    with tempfile.TemporaryDirectory() as out:
        summary = run_sections(PARAMS, apply=True, only=["preflight", "load_balancer", "certificates", "databases",
                                                         "registry_mount", "manager", "workers"],
                               out_dir=out, progress=lambda *_: None)
        assert summary.ok, summary.text()
    run = rb.open_run(PARAMS, apply=True)
    try:
        ct.TIMINGS.clear()
        t0 = time.monotonic()
        ct.start_cluster(run, 90).require()
        ct.wait_joined(run, 60, t0).require()
        tr.deploy_artifact(run, "runbook-08", 120).require()
        checks, spread = tr.send_requests(run, requests, "runbook-08")
        checks.require()
        print(spread.text())
        for found in tr.route_around(run, requests, "runbook-08", 90):
            if isinstance(found, rb.Checks):
                found.require()
        return dict(ct.TIMINGS)
    finally:
        run.close()
        lab.down(p, **quiet)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--requests", type=int, default=20)
    args = ap.parse_args()
    rounds = [one_round(args.requests) for _ in range(args.rounds)]
    print(f"\n08 on the lab, {args.rounds} round(s), {args.requests} requests per traffic step (median seconds)")
    for key in rounds[0]:
        values = [r[key] for r in rounds if key in r]
        print(f"  {key:<45} {statistics.median(values):7.2f}")


if __name__ == "__main__":
    main()
