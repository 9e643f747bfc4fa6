"""Clock skew between the cluster's hosts (ERRATA E17: measured, instead of
003's ntpdate cron jobs), without trusting this machine's clock.

Each host's clock is read over SSH (`date +%s.%N`), all hosts in one round.
This machine's wall clock is never used: only its monotonic clock, as a
stopwatch, to place each reading in time. A reading taken between monotonic
instants t0 and t1 is attributed to their midpoint, with an error of at most
half its round trip (t1 - t0). Two hosts' clocks are then compared with each
other: (clock_a - mid_a) - (clock_b - mid_b), within (rtt_a + rtt_b) / 2.
A check passes only when the skew plus that bound is within the threshold, so
a slow round trip can fail a check but never pass a skew it did not measure.
Every host is read once; only while a check fails are the hosts read again
(up to READS reads each, the fastest round trip kept): a further read can only
narrow a bound, and checks that already pass need no narrower one (at 128
workers the second and third reads were 240 more commands in every run).
A host whose kept round trip is already within GOOD of the threshold is not
read again. Preflight reads every node host's clock in the one command it asks
each host anyway (probe.py; the round trip of that whole command is the bound):
those readings are the first round.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass
from typing import Sequence

from ...core.context import Run
from ...core.step import Check
from ...remote import fanout

CLOCK_COMMAND = "date +%s.%N"
READS = 3
GOOD = 0.02  # a round trip within this share of the threshold needs no second read
# How the lab fakes a host's clock, and nothing else: a network namespace shares
# the machine's clock, so a lab test that needs one host's clock off puts the
# command that reads it here (host name -> command, e.g. the real `date` shifted
# by the shell). Empty outside those tests; params cannot set it.
LAB_CLOCK_HOOKS: dict[str, str] = {}
FIX = ("synchronise the clocks of {hosts}: `timedatectl set-ntp true` (systemd-timesyncd) or chrony "
       "(`chronyc tracking` shows the offset); ERRATA E17: not ntpdate cron jobs")


@dataclass(frozen=True)
class Reading:
    host: str
    offset: float  # the host's clock minus this machine's monotonic clock at the reading's midpoint (s)
    rtt: float  # the round trip of the reading kept (s)


def clock_command(host: str) -> str:
    """The command that reads HOST's clock (the lab's hook for it, in the lab's clock tests)."""
    return LAB_CLOCK_HOOKS.get(host, CLOCK_COMMAND)


def reading(host: str, output: str, t0: float, t1: float) -> Reading:
    """HOST's clock as OUTPUT printed it, read between monotonic instants T0 and T1."""
    return Reading(host, float(output.strip()) - (t0 + t1) / 2, t1 - t0)


def read_clock(run: Run, host: str) -> Reading:
    """HOST's clock against this machine's monotonic clock: one read."""
    h = run.host(host)
    t0 = time.monotonic()
    out = h.check(clock_command(host)).stdout
    return reading(host, out, t0, time.monotonic())


def measure(run: Run, hosts: Sequence[str], limit_ms: int = 0,
            first: dict[str, Reading] | None = None) -> list[Reading]:
    """Every host's reading, the hosts read concurrently, a round at a time;
    LIMIT_MS: the threshold the readings will be judged by (0: READS rounds).
    Another round only while a check fails, of the hosts not yet read fast.
    FIRST: readings already taken (preflight's), the first round of their hosts."""
    best = {h: r for h, r in (first or {}).items() if h in hosts}
    good = limit_ms / 1000 * GOOD
    for i in range(READS):
        todo = [h for h in hosts if h not in best or (i > 0 and best[h].rtt > good)]
        for r in fanout.map_hosts(todo, lambda h: h, lambda h: [read_clock(run, h)], "clocks"):
            if r.host not in best or r.rtt < best[r.host].rtt:
                best[r.host] = r
        if not any(best[h].rtt > good for h in hosts) or \
                limit_ms and all(c.ok for c in skew_checks(list(best.values()), limit_ms, "")):
            break
    return [best[h] for h in hosts]


def skew_checks(readings: Sequence[Reading], limit_ms: int, what: str) -> list[Check]:
    """Per host: its clock against the median of the hosts' clocks; then the
    spread between the two farthest apart (the gate). Fewer than two hosts:
    nothing to compare."""
    if len(readings) < 2:
        return []
    med = statistics.median(r.offset for r in readings)
    worst_rtt = max(r.rtt for r in readings)
    off = sorted(readings, key=lambda r: abs(r.offset - med), reverse=True)
    out = []
    for r in readings:
        dev, bound = (r.offset - med) * 1000, (r.rtt + worst_rtt) / 2 * 1000
        out.append(Check(r.host, f"clock vs the {what}' median", f"within {limit_ms} ms",
                         f"{dev:+.0f} ms (±{bound:.0f} ms)", abs(dev) + bound <= limit_ms,
                         FIX.format(hosts=r.host)))
    lo, hi = min(readings, key=lambda r: r.offset), max(readings, key=lambda r: r.offset)
    spread, bound = (hi.offset - lo.offset) * 1000, (hi.rtt + lo.rtt) / 2 * 1000
    culprit = off[0].host if len(readings) > 2 else f"{lo.host} or {hi.host}"
    out.append(Check(", ".join(r.host for r in readings), f"clock skew across the {what}", f"<= {limit_ms} ms",
                     f"{spread:.0f} ms (±{bound:.0f} ms; {hi.host} ahead of {lo.host})", spread + bound <= limit_ms,
                     FIX.format(hosts=culprit)))
    return out


def cluster_skew_checks(run: Run, reachable: set[str] | None = None,
                        first: dict[str, Reading] | None = None) -> list[Check]:
    """00: every host running a node of the params (brokers and ELBs included)
    against the others, with cluster.max_clock_skew_ms. REACHABLE: only those
    hosts (preflight leaves out a host whose SSH check failed: it is reported there);
    FIRST: the readings preflight took in its own command to each host."""
    hosts = [h for h in dict.fromkeys(v.host_name for v in run.selected_nodes())
             if reachable is None or h in reachable]
    limit = run.params.cluster.max_clock_skew_ms
    return skew_checks(measure(run, hosts, limit, first), limit, "cluster's hosts")
