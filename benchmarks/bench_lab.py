"""Benchmarks: how long the lab and the runbook take. Prints figures; asserts
nothing (speed is measured here, never by timed assertions in tests).

    .venv/bin/python benchmarks/bench_lab.py [--rounds N]

Needs root. Takes the lab down at the end.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from runbook_lib.lab import control as lab
from runbook_lib.params import load_params
from runbook_lib.run.runner import run_sections

ROOT = Path(__file__).resolve().parent.parent
PARAMS = ROOT / "params" / "lab.yaml"


def timed(fn) -> float:  # noqa: ANN001
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    p = load_params(PARAMS)
    quiet = {"log": lambda *_: None}
    lab.down(p, **quiet)
    ups, idem, downs, plan, apply1, apply2 = [], [], [], [], [], []
    for _ in range(args.rounds):
        ups.append(timed(lambda: lab.up(p, PARAMS, **quiet)))
        idem.append(timed(lambda: lab.up(p, PARAMS, **quiet)))
        with tempfile.TemporaryDirectory() as d:
            plan.append(timed(lambda: run_sections(PARAMS, apply=False, out_dir=Path(d) / "p", progress=lambda *_: None)))
            apply1.append(timed(lambda: run_sections(PARAMS, apply=True, out_dir=Path(d) / "a", progress=lambda *_: None)))
            apply2.append(timed(lambda: run_sections(PARAMS, apply=True, out_dir=Path(d) / "b", progress=lambda *_: None)))
        downs.append(timed(lambda: lab.down(p, **quiet)))
    rows = [("lab up (fresh)", ups), ("lab up (already up)", idem), ("runbook run (plan only)", plan),
            ("runbook run --apply (first)", apply1), ("runbook run --apply (second, no changes)", apply2),
            ("lab down", downs)]
    print(f"{len(p.hosts)} hosts, {len(p.nodes)} nodes, {args.rounds} rounds; seconds (median, min, max)")
    for name, xs in rows:
        print(f"  {name:<42} {statistics.median(xs):7.2f} {min(xs):7.2f} {max(xs):7.2f}")


if __name__ == "__main__":
    main()
