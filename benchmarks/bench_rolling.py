"""Benchmark: a rolling apply under load (issue 21). Prints figures;
asserts nothing.

    RUNBOOK_LAB_INSTANCE=NAME .venv/bin/python benchmarks/bench_rolling.py [--rate 60] [--reuse]

Needs root. Brings the lab up from params/lab.yaml (or, with --reuse, uses
the one that is up), applies the whole runbook, edits axis2.xml's clustering
domain on every cluster node (the runbook puts it back, so every node needs a
restart), starts the load generator on a lab host (08's test proxy through
nginx by the cluster host name), runs `runbook run --apply --rolling`, stops
the load 2 s after the rollout and prints: requests sent (in all, and while
the rollout ran), failed, latency p50/p95/p99, each node's time out of the
load balancer, and the timeline (also as timeline.svg in the run folder).
The issue's target on nginx: at least 2,000 requests during a rolling
restart of every worker and the manager, 0 failed. Takes the lab down at the
end unless --reuse.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import runbook_lib as rb
from runbook_lib.lab import control as lab
from runbook_lib.lab.loadgen import cluster_load
from runbook_lib.params import load_params
from runbook_lib.run.journal import Journal
from runbook_lib.run.report import write_report
from runbook_lib.run.report_rolling import save_load
from runbook_lib.run.rolling_timeline import explain, out_intervals, rollout_window, svg, text
from runbook_lib.run.runner import run_sections
from runbook_lib.sections.cluster.traffic import redeploy_for_load
from runbook_lib.sections.cluster.lifecycle import members_of

ROOT = Path(__file__).resolve().parent.parent
PARAMS = ROOT / "params" / "lab.yaml"


def change_every_node(params: Path):
    """Returns the loaded params (the instance's addresses)."""
    run = rb.open_run(params, apply=True)
    try:
        domain = run.params.cluster.domain
        for v in members_of(run):
            h, path = run.host(v.host_name), v.file("axis2")
            data = h.read_file(path).decode()
            h.write_file(path, re.sub(f">{re.escape(domain)}<", ">bench.edited<", data, count=1).encode(),
                         backup=False)
        return run.params
    finally:
        run.close()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rate", type=float, default=60.0, help="requests per second (60: over 2,000 while a 4-node "
                    "rollout of about 40 s runs)")
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--reuse", action="store_true", help="use the lab that is up (applied); leave it up")
    ap.add_argument("--out", default=None, help="run folder (default: a temporary one)")
    ap.add_argument("--params", default=str(PARAMS), help="a lab layout (default params/lab.yaml; an ELB layout "
                    "such as params/esb-elb-000.yaml shows the failures the ELB's lack of a drain costs)")
    args = ap.parse_args()
    params_file = Path(args.params).resolve()
    p = load_params(params_file)
    quiet = {"log": lambda *_: None}
    if not args.reuse:
        lab.down(p, **quiet)
        lab.up(p, params_file, **quiet)
    out = Path(args.out or tempfile.mkdtemp(prefix="bench-rolling-"))
    try:
        applied = run_sections(params_file, apply=True, out_dir=out / "applied", progress=lambda *_: None)
        assert applied.ok, applied.text()
        deployed = redeploy_for_load(str(params_file))  # 08 removes its test proxy at its end; the load requests it
        assert not deployed.failed, deployed.text()
        params = change_every_node(params_file)
        load = cluster_load(params, args.rate, 900).start()
        time.sleep(2)
        t0 = time.monotonic()
        rc = subprocess.call([sys.executable, "-m", "runbook_lib.cli", "run", str(params_file), "--apply", "--rolling",
                              "--batch", str(args.batch), "--out", str(out / "rolling")], stdout=subprocess.DEVNULL)
        took = time.monotonic() - t0
        time.sleep(2)
        res = load.stop().result()
    finally:
        if not args.reuse:
            lab.down(p, **quiet)
    entries = Journal(out / "rolling").entries()
    a, b = rollout_window(entries, res.started_at)
    during = [s for s in res.samples if a <= s.t <= b]
    (out / "rolling" / "timeline.svg").write_text(svg(res, entries))
    save_load(out / "rolling", res)
    write_report(out / "rolling")  # index.html with the same timeline and the failures explained
    print(f"\nrolling apply on the lab ({p.load_balancer.kind}, {params_file.name}, batch {args.batch}, "
          f"{args.rate:g} requests/s from {res.source}): exit {rc}, {took:.1f}s")
    print(f"  requests sent            {res.sent}")
    print(f"  sent during the rollout  {len(during)}  (first drain to last proof: {b - a:.1f}s)")
    print(f"  failed                   {res.failed}  (during the rollout: {sum(1 for s in during if s.status != 200)})")
    print(f"  latency p50/p95/p99      {res.percentile(50):.1f} / {res.percentile(95):.1f} / "
          f"{res.percentile(99):.1f} ms")
    for names, x, y in out_intervals(entries, res.started_at):
        print(f"  {names:<10} out of the load balancer {y - x:5.1f}s  ({x:.1f}s to {y:.1f}s)")
    print(text(res, entries))
    for line in explain(res, entries):
        print(f"  {line}")
    print(f"  target: >= 2000 during the rollout, 0 failed: "
          f"{'met' if len(during) >= 2000 and res.failed == 0 and rc == 0 else 'NOT met'}")
    print(f"  run folder: {out} (index.html, timeline.svg, journal.jsonl)")


if __name__ == "__main__":
    main()
