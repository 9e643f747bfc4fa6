"""Product facts the stand-in needs, in one place: per product family and
start script, where the carbon home, conf, lib, log and pid file are, the
log layout and whether a worker profile exists.

(To move into runbook_lib/products.py once the architecture helper's spec
lands; nothing else in the stand-in hard-codes these.)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Profile:
    family: str            # ei, esb, as, elb
    name: str              # integrator, broker, carbon, elb
    script: str            # bin/<script> that starts it
    carbon_home: str       # relative to the product home
    conf: str              # relative to the product home
    lib: str               # relative to the product home (JDBC drivers go here)
    trailing_logger: bool  # CARBON_LOGFILE layout ends with " {%c}" (integrator, ESB, AS, ELB)
    kernel: str            # carbon-kernel line: decides which clustering agents exist
    worker_profile: bool   # -DworkerNode=true runs a worker profile without the console UI

    def carbon_dir(self, home: Path) -> Path:
        return home / self.carbon_home

    def log_file(self, home: Path) -> Path:
        return home / self.carbon_home / "repository" / "logs" / "wso2carbon.log"

    def pid_file(self, home: Path) -> Path:
        return home / self.carbon_home / "wso2carbon.pid"


PROFILES = {
    ("ei", "integrator.sh"): Profile("ei", "integrator", "integrator.sh", ".", "conf", "lib", True, "4.4", False),
    ("ei", "broker.sh"): Profile("ei", "broker", "broker.sh", "wso2/broker", "wso2/broker/conf", "lib",
                                 False, "4.4", False),
    ("esb", "wso2server.sh"): Profile("esb", "carbon", "wso2server.sh", ".", "repository/conf",
                                      "repository/components/lib", True, "4.2", True),
    ("as", "wso2server.sh"): Profile("as", "carbon", "wso2server.sh", ".", "repository/conf",
                                     "repository/components/lib", True, "4.2", True),
    ("elb", "wso2server.sh"): Profile("elb", "elb", "wso2server.sh", ".", "repository/conf",
                                      "repository/components/lib", True, "4.1", False),
}

# bin/version.txt first words -> family
FAMILIES = {"WSO2 Enterprise Integrator": "ei", "WSO2 Enterprise Service Bus": "esb",
            "WSO2 Application Server": "as", "WSO2 Elastic Load Balancer": "elb"}

HAZELCAST = "org.wso2.carbon.core.clustering.hazelcast.HazelcastClusteringAgent"
TRIBES = "org.apache.axis2.clustering.tribes.TribesClusteringAgent"
# The Hazelcast agent came with Carbon 4.2 (CARBON-RUNTIME.md "Which clustering agent").
AGENTS_BY_KERNEL = {"4.1": {TRIBES}, "4.2": {TRIBES, HAZELCAST}, "4.4": {TRIBES, HAZELCAST}}
HAZELCAST_LOADING_LINE = {"4.4"}  # "Loading hazelcast configuration from axis2 ..." (4.4.16, not 4.4.1)

SERVLET_HTTP, SERVLET_HTTPS = 9763, 9443
DEFAULT_DEPLOYMENT_INTERVAL = 15  # seconds, carbon.xml DeploymentUpdateInterval as shipped


def family_of(home: Path) -> str:
    try:
        text = (home / "bin" / "version.txt").read_text()
    except OSError:
        text = ""
    for prefix, fam in FAMILIES.items():
        if text.startswith(prefix):
            return fam
    raise SystemExit(f"[stand-in] cannot tell which WSO2 product {home} is (bin/version.txt: {text.strip()!r})")


def profile_for(home: Path, script: str) -> Profile:
    fam = family_of(home)
    try:
        return PROFILES[(fam, script)]
    except KeyError:
        raise SystemExit(f"[stand-in] {fam} has no start script {script}") from None


def scripts_for(family: str) -> list[str]:
    return [s for (f, s) in PROFILES if f == family]
