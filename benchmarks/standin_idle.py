"""What the lab's idle stand-ins cost (issue 23): CPU and memory of every
stand-in process in the lab's namespaces, read from /proc over a few seconds.
Used by bench_scale.py after 08 has started the cluster; asserts nothing.

CPU is utime+stime over the window (1.0 = one core). Memory is given as RSS
(counts the shared libraries once per process) and PSS (shares them out: the
memory the processes really take together)."""

from __future__ import annotations

import os
import subprocess
import time

from runbook_lib.lab import net


def standin_pids() -> list[int]:
    pids = []
    for ns in net.lab_namespaces():
        for pid in net.namespace_pids(ns):
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    if b"-m\x00standin" in f.read():
                        pids.append(pid)
            except OSError:
                continue
    return pids


def _cpu(pid: int) -> tuple[float, float]:
    """The process's CPU seconds: its own, and with those of the children it has
    waited for (the svn clients the deployment synchroniser runs)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        own, children = int(fields[11]) + int(fields[12]), int(fields[13]) + int(fields[14])
        tck = os.sysconf("SC_CLK_TCK")
        return own / tck, (own + children) / tck
    except OSError:
        return 0.0, 0.0


def _kib(pid: int, file: str, key: str) -> int:
    try:
        with open(f"/proc/{pid}/{file}") as f:
            for line in f:
                if line.startswith(key):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def idle_cost(seconds: float = 10.0) -> dict[str, float]:
    pids = standin_pids()
    before = {p: _cpu(p) for p in pids}
    t0 = time.monotonic()
    time.sleep(seconds)
    took = time.monotonic() - t0
    after = {p: _cpu(p) for p in pids}
    cpu = sum(after[p][0] - before[p][0] for p in pids) / took
    with_children = sum(after[p][1] - before[p][1] for p in pids) / took
    return {"processes": len(pids), "cpu": cpu, "cpu_with_children": with_children, "seconds": took,
            "load": os.getloadavg()[0],
            "rss_mib": sum(_kib(p, "status", "VmRSS:") for p in pids) / 1024,
            "pss_mib": sum(_kib(p, "smaps_rollup", "Pss:") for p in pids) / 1024}


if __name__ == "__main__":
    subprocess.run(["uptime"])
    print(idle_cost())
