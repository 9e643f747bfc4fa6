"""Speed at scale (issues 10 and 23): the runbook on 1 manager + N workers,
each worker on a host of its own (document 002's layout scaled up), beside
the floor (benchmarks/floor.py) measured in the same run. Prints figures and
asserts nothing.

    .venv/bin/python benchmarks/bench_scale.py [--workers 4 32 128] [--cluster-test 4 32] [--out DIR]

Needs root. For each N it brings up a lab (`runbook lab up`, so
RUNBOOK_LAB_INSTANCE is honoured) and runs the runbook plan only, first
--apply and second --apply (no changes) of 00-07. For N in --cluster-test it
then runs 08 (the whole cluster started and tested), measures the N+1 idle
stand-ins' CPU and memory from /proc (IDLE_WINDOW seconds, two deployment
cycles, IDLE_SETTLE seconds after 08: a window of 10 s at once caught 08's
last restart settling and 0 or 1 of each node's 15-second cycles), and runs 00-07 once more with them
running (the no-op must still pass). The floor runs last (its edits are not
the runbook's), then the lab goes down. The machine's load average is printed
next to every figure: on a shared machine the absolute seconds are noisy, the
ratios within one run less so.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from runbook_lib.params import load_params
from runbook_lib.run.runner import run_sections

ROOT = Path(__file__).resolve().parent.parent
# What the targets are about (issue 10): the configuration sections. 07 has nothing to do in this layout and
# 08 starts the whole cluster (a test of the result, not configuration); --sections adds them.
SECTIONS = ["00_preflight", "01_load_balancer", "02_certificates", "03_databases", "04_registry_mount",
            "05_manager", "06_workers", "07_broker"]
RUNBOOK = str(Path(sys.executable).parent / "runbook")
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


IDLE_SETTLE, IDLE_WINDOW = 20.0, 30.0


def load() -> float:
    return os.getloadavg()[0]


def cpu_seconds() -> tuple[float, float, float]:
    """CPU seconds: this process's (papermill), its children's that ended (the runbook's
    kernel, stopped at the end of each run), and the machine's busy time in all."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    with open("/proc/stat") as f:
        ticks = [int(x) for x in f.readline().split()[1:9]]
    busy = sum(ticks) - ticks[3] - ticks[4]  # all but idle and iowait
    return me.ru_utime + me.ru_stime, kids.ru_utime + kids.ru_stime, busy / os.sysconf("SC_CLK_TCK")


def run_mode(params: Path, apply: bool, out: Path, sections: list[str], must_pass: bool = True) -> dict[str, float]:
    t0, load0, cpu0 = time.perf_counter(), load(), cpu_seconds()
    summary = run_sections(params, apply=apply, only=sections, out_dir=out, progress=lambda *_: None)
    wall = time.perf_counter() - t0
    cpu1 = cpu_seconds()
    if not summary.ok and must_pass:
        raise SystemExit(f"runbook run failed in {out}: {summary.text()}")
    times = {s.name: s.seconds for s in summary.sections}
    times["total"] = sum(times.values())
    times["whole run"] = wall  # with the kernel's start, the summary and the HTML report
    times["load"] = (load0 + load()) / 2
    # Where the machine's CPU went: the runbook (this process, its kernel) or the lab's hosts (their sshd,
    # the commands run there, MariaDB), which on a real cluster run on machines of their own.
    times["papermill cpu"], times["kernel cpu"], times["machine cpu"] = (b - a for a, b in zip(cpu0, cpu1))
    times["ok"] = float(summary.ok)
    return times


def lab_cli(*args: str) -> None:
    subprocess.run([RUNBOOK, "lab", *args], check=True, stdout=subprocess.DEVNULL)


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


def bench(workers: int, folder: Path, sections: list[str], cluster_test: bool) -> dict:
    params_path = scaled_params(workers, folder)
    subprocess.run([RUNBOOK, "lab", "down", str(params_path)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    t0 = time.perf_counter()
    lab_cli("up", str(params_path))
    up = time.perf_counter() - t0
    r: dict = {"workers": workers, "lab_up": up, "lab_up_load": load()}
    try:
        r["plan"] = run_mode(params_path, False, folder / f"n{workers}-plan", sections)
        r["apply1"] = run_mode(params_path, True, folder / f"n{workers}-apply1", sections)
        r["apply2"] = run_mode(params_path, True, folder / f"n{workers}-apply2", sections)
        from bench_write import write_path  # benchmarks/ is on sys.path when run as a script
        r["write_load"] = load()
        r["write"] = write_path(params_path, f"ei{FIRST_WORKER_OCTET}")
        if cluster_test:
            r["08"] = run_mode(params_path, True, folder / f"n{workers}-08", ["08_test_cluster"], must_pass=False)
            from standin_idle import idle_cost  # benchmarks/ is on sys.path when run as a script
            time.sleep(IDLE_SETTLE)  # 08's last restart and the depsync commits it set off finish first
            r["idle"] = idle_cost(IDLE_WINDOW)
            r["after"] = run_mode(params_path, True, folder / f"n{workers}-after08", sections, must_pass=False)
        r["floor_load"] = load()
        r["floor"], r["floor_edits"] = floor_for(params_path)  # last: its edits are not the runbook's
    finally:
        subprocess.run([RUNBOOK, "lab", "down", str(params_path)], stdout=subprocess.DEVNULL)
    return r


def report(results: list[dict]) -> None:
    sections = [s for s in results[0]["plan"] if s[:2].isdigit()]
    for r in results:
        print(f"\n{r['workers']} workers ({r['workers'] + 1} nodes), lab up {r['lab_up']:.1f}s (load {r['lab_up_load']:.1f});"
              f" seconds per section")
        print(f"  {'section':<20} {'plan only':>10} {'1st apply':>10} {'2nd apply':>10}")
        for s in sections + ["total", "whole run", "load"]:
            print(f"  {s:<20} {r['plan'].get(s, 0):10.1f} {r['apply1'].get(s, 0):10.1f} {r['apply2'].get(s, 0):10.1f}")
        for key, what in (("kernel cpu", "the notebooks' kernel"), ("papermill cpu", "this process: papermill"),
                          ("machine cpu", "the machine in all: the lab's hosts are the rest")):
            print(f"  {'CPU s: ' + key.split()[0]:<20}" + "".join(f" {r[m][key]:10.1f}" for m in ("plan", "apply1", "apply2"))
                  + f"  ({what})")
        r04_06 = sum(v for k, v in r["apply1"].items() if k[:2] in ("04", "05", "06"))
        print(f"  floor: {r['floor_edits']} edits on {r['workers'] + 1} nodes in {r['floor']:.2f}s (load "
              f"{r['floor_load']:.1f}); runbook 04-06 first apply {r04_06:.1f}s = {r04_06 / r['floor']:.1f}x the floor "
              "(target <= 3x)")
        w = r["write"]
        print(f"  one file write with its backup: shell script {w['shell']:.1f} ms, SFTP alone {w['sftp']:.1f} ms "
              f"= {w['shell'] / w['sftp']:.1f}x faster (load {r['write_load']:.1f})")
        if "08" in r:
            t08 = r["08"]
            print(f"  08 at {r['workers']} workers: {'passed' if t08['ok'] else 'FAILED'} in {t08['total']:.1f}s "
                  f"(load {t08['load']:.1f})")
            idle = r["idle"]
            print(f"  idle stand-ins after 08 ({IDLE_WINDOW:.0f} s, {IDLE_SETTLE:.0f} s after it): "
                  f"{idle['processes']} processes, {idle['cpu']:.3f} of a core in all "
                  f"(target < 0.1; {idle['cpu_with_children']:.3f} with the svn clients they ran), RSS {idle['rss_mib']:.0f} MiB, PSS {idle['pss_mib']:.0f} MiB "
                  f"({idle['pss_mib'] / max(1, idle['processes']):.1f} MiB each) (load {idle['load']:.1f})")
            a = r["after"]
            print(f"  00-07 again with the cluster running: {'passed' if a['ok'] else 'FAILED'} in {a['total']:.1f}s "
                  f"(load {a['load']:.1f})")
    if len(results) > 1:
        for lo, hi in zip(results, results[1:]):
            print(f"\ngrowth from {lo['workers']} to {hi['workers']} workers, per section (target <= 1.5x):")
            print(f"  {'section':<20} {'plan only':>10} {'1st apply':>10} {'2nd apply':>10}")
            for s in sections + ["total"]:
                cells = []
                for mode in ("plan", "apply1", "apply2"):
                    a, b = lo[mode].get(s, 0), hi[mode].get(s, 0)
                    cells.append(f"x{b / a:.2f}" if a else "-")
                print(f"  {s:<20} {cells[0]:>10} {cells[1]:>10} {cells[2]:>10}")
    big = results[-1]
    limits = (45, 20, 20) if big["workers"] >= 128 else (30, 15, 15)
    print(f"\ntargets at {big['workers']} workers: first apply {big['apply1']['total']:.1f}s (<= {limits[0]}), "
          f"second apply {big['apply2']['total']:.1f}s (<= {limits[1]}), plan only {big['plan']['total']:.1f}s "
          f"(<= {limits[2]})")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--workers", type=int, nargs="+", default=[4, 32])
    ap.add_argument("--cluster-test", type=int, nargs="*", default=[4, 32],
                    help="the worker counts at which 08 runs and the idle stand-ins are measured")
    ap.add_argument("--sections", nargs="+", default=SECTIONS, help="the sections to run (default: 00 to 07)")
    ap.add_argument("--out", help="keep the generated params and executed notebooks in this folder")
    args = ap.parse_args()

    def all_of(folder: Path) -> list[dict]:
        return [bench(n, folder, args.sections, n in args.cluster_test) for n in args.workers]
    if args.out:
        Path(args.out).mkdir(parents=True, exist_ok=True)
        report(all_of(Path(args.out)))
        return
    with tempfile.TemporaryDirectory(prefix="wso2-runbook-bench-") as d:
        report(all_of(Path(d)))


if __name__ == "__main__":
    main()
