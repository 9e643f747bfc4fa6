"""The product facts the stand-in runs with. They come from the project's
product spec (runbook_lib/products.py: where the carbon home, conf, lib, log
and pid file are, the start script, which clustering agents the version
ships), which `runbook lab up` writes into each start script as the
STANDIN_SPEC environment variable (lab/launcher.py): the stand-in itself needs
nothing but the standard library and pymysql on a lab host.

Only facts about the running server that the spec does not hold are here,
each from CARBON-RUNTIME.md."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

# CARBON-RUNTIME.md "Management console and workers": ESB (and AS) workers run a
# worker profile without the console; EI 6.1.1 has no worker profile.
WORKER_PROFILE_PRODUCTS = {"esb", "as"}
# "Loading hazelcast configuration from axis2 ..." is logged by carbon-kernel 4.4.16 (EI 6.1.1), not 4.4.1.
HAZELCAST_LOADING_LINE_PRODUCTS = {"ei"}
SERVLET_HTTP, SERVLET_HTTPS = 9763, 9443


@dataclass(frozen=True)
class Profile:
    product: str            # ei, esb, as, elb (the spec's product)
    profile: str            # the spec's profile: default or broker
    version: str
    script: str             # bin/<script>
    carbon_home: str        # relative to the product home
    conf: str
    lib: str
    log: str                # relative to the home
    pid: str                # relative to the home
    agents: dict[str, str]  # clustering agent class this version has -> its protocol (hazelcast, tribes)
    artifact: str = "proxy"  # what the product deploys for 08: proxy (Synapse) or webapp (AS)

    @property
    def name(self) -> str:
        """integrator, broker, carbon or elb: what the stand-in runs."""
        if self.product == "elb":
            return "elb"
        if self.profile == "broker":
            return "broker"
        return "integrator" if self.product == "ei" else "carbon"

    @property
    def trailing_logger(self) -> bool:
        """CARBON_LOGFILE ends with " {%c}" in the EI integrator (product-ei v6.1.1
        distribution/src/conf/log4j.properties) and ESB 4.9.0 (product-esb v4.9.0);
        the EI broker profile and AS 5.x ship the kernel's `... %m %n` (carbon-kernel
        v4.4.16 distribution/kernel/carbon-home/repository/conf/log4j.properties).
        SOURCES.md row L1; ELB 2.x is unsourced and keeps the trailing logger."""
        return self.profile != "broker" and self.product != "as"

    @property
    def worker_profile(self) -> bool:
        return self.product in WORKER_PROFILE_PRODUCTS

    def carbon_dir(self, home: Path) -> Path:
        return home / self.carbon_home

    def log_file(self, home: Path) -> Path:
        return home / self.log

    def pid_file(self, home: Path) -> Path:
        return home / self.pid


def current(script: str) -> Profile:
    """The profile STANDIN_SPEC (set by the start script) gives for SCRIPT."""
    raw = os.environ.get("STANDIN_SPEC")
    if not raw:
        raise SystemExit("[stand-in] STANDIN_SPEC is not set: start the node through its bin/ script "
                         "(written by `runbook lab up`)")
    for d in json.loads(raw):
        if d["script"] == script:
            return Profile(**d)
    raise SystemExit(f"[stand-in] no product profile starts with {script}")
