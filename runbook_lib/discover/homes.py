"""Finding the Carbon homes on a host: every ``bin/version.txt`` under the
usual install roots, the product and version it names, and which profiles
of the home are configured (an EI home holds both the integrator and the
broker profile; the one whose axis2.xml has clustering enabled is the one
in service)."""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass

from ..products import BROKER_PROFILE, DEFAULT_PROFILE, SPECS, ProductSpec, spec_for
from ..remote.host import Host
from ..remote.probe import probe, quote

ROOTS = ("/opt", "/srv", "/home", "/usr/local", "/app", "/apps")
VERSION_RE = re.compile(r"WSO2\s+(.+?)\s+v?(\d+\.\d+\.\d+)")


@dataclass(frozen=True)
class Home:
    host: str  # the host's name (discover's)
    path: str
    product: str  # ei, esb, as, elb
    version: str
    line: str  # bin/version.txt as read

    def spec(self, profile: str = DEFAULT_PROFILE) -> ProductSpec:
        return spec_for(self.product, self.version, profile)

    @property
    def profiles(self) -> tuple[str, ...]:
        return self.spec().home_profiles


def product_of(line: str) -> tuple[str, str] | None:
    """(product, version) from bin/version.txt's line, e.g. `WSO2 Enterprise Integrator v6.1.1`."""
    m = VERSION_RE.search(line)
    if not m:
        return None
    title = m.group(1).strip().lower()
    for s in SPECS:
        if s.profile == DEFAULT_PROFILE and s.title.lower() == title:
            return s.product, m.group(2)
    return None


def find_homes(h: Host, host_name: str) -> tuple[list[Home], list[str]]:
    """(homes found, version.txt files that name no supported product). Backups
    and copies under the runbook's own folders are not homes."""
    roots = " ".join(quote("%s", r) for r in ROOTS)
    res = h.run(f"for r in {roots}; do [ -d \"$r\" ] && find \"$r\" -maxdepth 6 -path '*/bin/version.txt' "
                "-not -path '*/wso2/broker/*' 2>/dev/null; done; true")
    files = sorted(set(x.strip() for x in res.stdout.splitlines() if x.strip()))
    if not files:
        return [], []
    answers = probe(h, {f: quote("head -c 300 %s", f) for f in files})
    homes, unknown = [], []
    for f in files:
        line = answers[f].stdout.strip()
        got = product_of(line) if answers[f].ok else None
        if got is None:
            unknown.append(f"{f}: {line[:80]!r}")
            continue
        home = posixpath.dirname(posixpath.dirname(f))
        homes.append(Home(host_name, home, got[0], got[1], line))
    return homes, unknown


def profile_in_service(enabled: dict[str, bool]) -> str:
    """The profile whose clustering is enabled (the broker's wins only when the
    integrator's is off): an EI home unpacked for 003 runs bin/broker.sh."""
    if enabled.get(BROKER_PROFILE) and not enabled.get(DEFAULT_PROFILE):
        return BROKER_PROFILE
    return DEFAULT_PROFILE
