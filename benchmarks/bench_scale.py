"""Speed at scale (issue 10): the runbook on 1 manager + N workers, each
worker on a host of its own (document 002's layout scaled up), beside the
floor (benchmarks/floor.py) measured in the same run. Prints figures and
asserts nothing.

    .venv/bin/python benchmarks/bench_scale.py [--workers 4 32] [--sections 00_preflight ...] [--out DIR]

Needs root. For each N it brings up a lab of its own, runs the runbook plan
only, first --apply and second --apply (no changes), then the floor on the
same hosts, and takes the lab down.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import yaml

from runbook_lib.lab import control as lab
from runbook_lib.params import load_params
from runbook_lib.run.runner import run_sections

ROOT = Path(__file__).resolve().parent.parent
# What the targets are about (issue 10): the configuration sections. 07 has nothing to do in this layout and
# 08 starts the whole cluster (a test of the result, not configuration); --sections adds them.
SECTIONS = ["00_preflight", "01_load_balancer", "02_certificates", "03_databases", "04_registry_mount",
            "05_manager", "06_workers"]
BASE = ROOT / "params" / "ei-nginx-002.yaml"
FIRST_WORKER_OCTET = 103


def scaled_params(workers: int, folder: Path) -> Path:
    """params/ei-nginx-002.yaml with N workers, each on its own host."""
    doc = yaml.safe_load(BASE.read_text())
    doc["name"] = f"ei-scale-{workers}"
    hosts = {k: v for k, v in doc["hosts"].items() if v.get("roles")}
    hosts["ei102"] = doc["hosts"]["ei102"]
    manager = doc["nodes"]["manager"]
    nodes = {"manager": manager}
    for i in range(workers):
        name = f"ei{FIRST_WORKER_OCTET + i}"
        hosts[name] = {"address": f"198.51.100.{FIRST_WORKER_OCTET + i}"}
        nodes[f"worker{i + 1}"] = {"host": name, "role": "worker", "home": manager["home"], "offset": 0,
                                   "local_member_port": 4200, "well_known": i == 0}
    doc["hosts"], doc["nodes"] = hosts, nodes
    path = folder / f"ei-scale-{workers}.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def run_mode(params: Path, apply: bool, out: Path, sections: list[str]) -> dict[str, float]:
    t0 = time.perf_counter()
    summary = run_sections(params, apply=apply, only=sections, out_dir=out, progress=lambda *_: None)
    wall = time.perf_counter() - t0
    if not summary.ok:
        raise SystemExit(f"runbook run failed in {out}: {summary.text()}")
    times = {s.name: s.seconds for s in summary.sections}
    times["total"] = sum(times.values())
    times["whole run"] = wall  # with the kernel's start, the summary and the HTML report
    return times


def floor_for(params_path: Path) -> tuple[float, int]:
    from floor import FloorNode, run_floor  # benchmarks/ is on sys.path when run as a script
    p = load_params(params_path)
    hosts: dict[str, tuple[str, list[FloorNode]]] = {}
    for name, node in p.nodes.items():
        h = p.hosts[node.host]
        hosts.setdefault(node.host, (str(h.address), []))[1].append(
            FloorNode(str(h.address), node.home, node.offset, node.local_member_port))
    any_host = next(iter(p.hosts.values()))
    db_url = "jdbc:mysql://carbondb.mysql-wso2.com:3306/REGISTRY_DB?autoReconnect=true&useSSL=false"
    return run_floor(hosts, any_host.ssh_user, p.ssh.key, p.ssh.known_hosts, p.cluster.domain, db_url)


def bench(workers: int, folder: Path, sections: list[str]) -> dict:
    params_path = scaled_params(workers, folder)
    p = load_params(params_path)
    quiet = {"log": lambda *_: None}
    lab.down(p, **quiet)
    t0 = time.perf_counter()
    lab.up(p, params_path, **quiet)
    up = time.perf_counter() - t0
    try:
        plan = run_mode(params_path, False, folder / f"n{workers}-plan", sections)
        first = run_mode(params_path, True, folder / f"n{workers}-apply1", sections)
        again = run_mode(params_path, True, folder / f"n{workers}-apply2", sections)
        floor_s, floor_edits = floor_for(params_path)
    finally:
        lab.down(p, **quiet)
    return {"workers": workers, "lab_up": up, "plan": plan, "apply1": first, "apply2": again,
            "floor": floor_s, "floor_edits": floor_edits}


def report(results: list[dict]) -> None:
    sections = [s for s in results[0]["plan"] if s not in ("total", "whole run")]
    for r in results:
        print(f"\n{r['workers']} workers ({r['workers'] + 1} nodes), lab up {r['lab_up']:.1f}s; seconds per section")
        print(f"  {'section':<20} {'plan only':>10} {'1st apply':>10} {'2nd apply':>10}")
        for s in sections + ["total", "whole run"]:
            print(f"  {s:<20} {r['plan'].get(s, 0):10.1f} {r['apply1'].get(s, 0):10.1f} {r['apply2'].get(s, 0):10.1f}")
        r04_06 = sum(v for k, v in r["apply1"].items() if k[:2] in ("04", "05", "06"))
        print(f"  floor: {r['floor_edits']} edits on {r['workers'] + 1} nodes in {r['floor']:.2f}s; "
              f"runbook 04-06 first apply {r04_06:.1f}s = {r04_06 / r['floor']:.1f}x the floor")
    if len(results) > 1:
        lo, hi = results[0], results[-1]
        print(f"\ngrowth from {lo['workers']} to {hi['workers']} workers, per section (target <= 1.5x):")
        print(f"  {'section':<20} {'plan only':>10} {'1st apply':>10} {'2nd apply':>10}")
        for s in sections + ["total"]:
            cells = []
            for mode in ("plan", "apply1", "apply2"):
                a, b = lo[mode].get(s, 0), hi[mode].get(s, 0)
                cells.append(f"x{b / a:.2f}" if a else "-")
            print(f"  {s:<20} {cells[0]:>10} {cells[1]:>10} {cells[2]:>10}")
    big = results[-1]
    print(f"\ntargets at {big['workers']} workers: first apply {big['apply1']['total']:.1f}s (<= 30), "
          f"second apply {big['apply2']['total']:.1f}s (<= 15), plan only {big['plan']['total']:.1f}s (<= 15)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--workers", type=int, nargs="+", default=[4, 32])
    ap.add_argument("--sections", nargs="+", default=SECTIONS, help="the sections to run (default: 00 to 06)")
    ap.add_argument("--out", help="keep the generated params and executed notebooks in this folder")
    args = ap.parse_args()
    if args.out:
        Path(args.out).mkdir(parents=True, exist_ok=True)
        report([bench(n, Path(args.out), args.sections) for n in args.workers])
        return
    with tempfile.TemporaryDirectory(prefix="wso2-runbook-bench-") as d:
        report([bench(n, Path(d), args.sections) for n in args.workers])


if __name__ == "__main__":
    main()
