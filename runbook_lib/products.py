"""What the runbook knows about each WSO2 product line, in one place.

One frozen ``ProductSpec`` per product line and profile (EI integrator, EI
broker, ESB 4.x, AS 5.x, ELB 2.x): where its configuration lives, which files
the runbook edits and why, its default ports, how it is started, where it
logs, which clustering agent it ships and which versions it covers. Adding a
version of a supported line needs nothing here; adding a line is one entry.

Everything that differs by product reads from here (params/derive.py,
params/checks.py, the sections, preflight, the lab); nothing else branches
on a product's name. Sources: ../shared/seeds (the documents),
../shared/CARBON-RUNTIME.md (log file, agents, broker defaults), and the
shipped files in ../shared/wso2-upstream.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from posixpath import join
from types import MappingProxyType
from typing import Mapping

from .core.errors import RunbookError

HAZELCAST = "org.wso2.carbon.core.clustering.hazelcast.HazelcastClusteringAgent"
TRIBES = "org.apache.axis2.clustering.tribes.TribesClusteringAgent"
# The membership protocol each agent speaks: the two never see each other (CARBON-RUNTIME.md).
AGENT_PROTOCOLS: Mapping[str, str] = MappingProxyType({HAZELCAST: "hazelcast", TRIBES: "tribes"})

# Default ports before the carbon.xml Offset is added (E12: the broker ships Offset 3).
SERVLET_PORTS = {"https": 9443, "http": 9763}
PASSTHROUGH_PORTS = {"pt_http": 8280, "pt_https": 8243}
BROKER_PORTS = {"thrift": 7611, "amqp": 5672, "mqtt": 1883}

DEFAULT_PROFILE = "default"
BROKER_PROFILE = "broker"


class UnsupportedProduct(RunbookError):
    """A product name, version or profile the runbook has no spec for."""


@dataclass(frozen=True)
class ConfigFile:
    """A configuration file the runbook reads or edits: its path relative to
    the profile's conf directory, and what the runbook uses it for."""

    rel: str
    role: str


def _files(**kw: tuple[str, str]) -> Mapping[str, ConfigFile]:
    return MappingProxyType({k: ConfigFile(rel, role) for k, (rel, role) in kw.items()})


def version_tuple(version: str) -> tuple[int, ...]:
    """``6.1.1`` -> (6, 1, 1), for comparing versions (non-numeric parts are ignored)."""
    return tuple(int(x) for x in version.split(".") if x.isdigit())


@dataclass(frozen=True)
class TestArtifact:
    """What 08 deploys on the manager to prove delivery and routing, and what a
    node shows of it (sections/cluster/artifact.py writes and counts it):
    proxy (ESB, EI): a proxy with a log mediator, logged `ProxyService named '…'
    has been deployed` (CARBON-RUNTIME.md "Proxy services and the log mediator");
    webapp (AS, document 001): an exploded web application, logged `Deployed
    webapp: …StandardContext[/<name>]…` (carbon-deployment's TomcatGenericWebappsDeployer).
    Removing the file undeploys it: `ProxyService named '…' has been undeployed`
    (wso2-synapse ProxyServiceDeployer.undeploySynapseArtifact), `Undeployed webapp: …`
    (TomcatGenericWebappsDeployer.undeploy); both lines also hold the deployed
    line's text, so a count of deployments subtracts them."""

    kind: str  # proxy or webapp
    noun: str  # how the notebook names it
    rel_path: str  # the one file written on a deploy target, relative to the product home
    deployed_line: str  # in the node's log, once per deployment
    method: str  # the HTTP method of a test request
    url_path: str  # with {marker}
    marker_in_content: bool  # a new marker means a new deployment (the proxy's log property)
    undeployed_line: str = ""  # in the node's log, once per undeployment (its file gone)


TEST_PROXY, TEST_WEBAPP = "RunbookClusterTest", "runbook-cluster-test"
PROXY_ARTIFACT = TestArtifact(
    "proxy", f"proxy {TEST_PROXY}",
    f"repository/deployment/server/synapse-configs/default/proxy-services/{TEST_PROXY}.xml",
    f"ProxyService named '{TEST_PROXY}' has been", "POST", f"/services/{TEST_PROXY}", True,
    f"ProxyService named '{TEST_PROXY}' has been undeployed")
WEBAPP_ARTIFACT = TestArtifact(
    "webapp", f"webapp /{TEST_WEBAPP}", f"repository/deployment/server/webapps/{TEST_WEBAPP}/index.html",
    f"StandardContext[/{TEST_WEBAPP}]", "GET", f"/{TEST_WEBAPP}/?runbook={{marker}}", False,
    f"Undeployed webapp: StandardEngine[Catalina].StandardHost[localhost].StandardContext[/{TEST_WEBAPP}]")


# The files of a Carbon 4.x node (same names in every product; the conf dir differs).
_CARBON_FILES = dict(
    axis2=("axis2/axis2.xml", "clustering (agent, wka members, domain, subDomain), transports, WSDLEPRPrefix"),
    carbon=("carbon.xml", "port Offset, HostName/MgtHostName, deployment synchronizer"),
    catalina=("tomcat/catalina-server.xml", "servlet connectors' proxyPort behind the load balancer"),
    datasources=("datasources/master-datasources.xml", "JDBC datasources (user store, registries, MB store)"),
    registry=("registry.xml", "shared registry dbConfig, remote instance, mounts"),
    user_mgt=("user-mgt.xml", "the user store's dataSource"),
    log4j=("log4j.properties", "log layout and levels"),
)


# The files every Carbon 4.x profile has, by key (a spec's ``files`` holds these and its own).
CARBON_FILES: Mapping[str, ConfigFile] = _files(**_CARBON_FILES)


@dataclass(frozen=True)
class ProductSpec:
    """One product line and profile. Paths are relative to the product home
    (``conf_dir``, ``lib_dir``...) or to ``conf_dir`` (``files``)."""

    product: str  # the params' product.name: ei, esb, as, elb
    profile: str  # DEFAULT_PROFILE, or BROKER_PROFILE for the EI message broker
    title: str  # as bin/version.txt names it, without "WSO2 " and the version
    short: str  # EI, ESB, AS, ELB
    major: str  # the supported line: every version MAJOR.x.y
    roles: tuple[str, ...]  # node roles this spec serves
    carbon_home: str  # the profile's CARBON_HOME inside the product home
    conf_dir: str
    lib_dir: str
    dbscripts_dir: str
    security_dir: str
    files: Mapping[str, ConfigFile]
    ports: Mapping[str, int]  # listening ports before the Offset (localMemberPort is not shifted, E10)
    default_offset: int
    start_script: str  # relative to the home
    worker_flag: str  # added on worker nodes only
    log_file: str  # relative to the home (CARBON-RUNTIME.md "The log file")
    pid_file: str  # relative to the home: CARBON_HOME/wso2carbon.pid, as wso2server.sh writes it
    agents: tuple[tuple[str, str], ...]  # (first version, clustering agent class as shipped)
    registry_config_target: str  # where /_system/config is mounted in the shared registry
    elb_service: str | None = None  # loadbalancer.conf's service name for this product's cluster
    mb_store_script: str | None = None  # the message-broker store script, relative to the home
    home_profiles: tuple[str, ...] = (DEFAULT_PROFILE,)  # profiles one unpacked home holds
    version_file: str = "bin/version.txt"
    # What 08 deploys on the manager to prove delivery and routing: a proxy
    # service with a log mediator (Synapse: ESB, EI) or a web application (AS).
    artifact: TestArtifact = PROXY_ARTIFACT
    # The JDKs the start script accepts (`java -version` | grep "1.[7|8]" in
    # carbon-kernel v4.4.x bin/wso2server.sh and product-ei v6.1.1 integrator.sh;
    # Java 9+ refuses their -Djava.endorsed.dirs). Older lines' scripts were not
    # found: the same, stricter, reading (runbook_lib/lab/standin/SOURCES.md J1-J3).
    java: tuple[str, ...] = ("1.7", "1.8")
    extra: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))

    @property
    def key(self) -> str:
        return self.product if self.profile == DEFAULT_PROFILE else f"{self.product}-{self.profile}"

    @property
    def versions(self) -> str:
        """The versions this spec covers, in words."""
        return f"{self.short} {self.major}.x"

    def covers(self, version: str) -> bool:
        return version.split(".")[0] == self.major

    def clustering_agent(self, version: str) -> str:
        """The agent class axis2.xml ships for VERSION (the file's class attribute decides at run time)."""
        chosen = self.agents[0][1]
        for first, cls in self.agents:
            if version_tuple(version) >= version_tuple(first):
                chosen = cls
        return chosen

    def agents_in(self, version: str) -> list[str]:
        """Every agent class VERSION has: those the line shipped up to it (ELB 2.0.x,
        Carbon 4.1: Tribes only; the Hazelcast agent came with Carbon 4.2)."""
        return sorted({cls for first, cls in self.agents if version_tuple(first) <= version_tuple(version)})

    def conf(self, key: str) -> str:
        """A config file's path relative to the home, e.g. ``conf/axis2/axis2.xml``."""
        return join(self.conf_dir, self.files[key].rel)

    def version_line(self, version: str) -> str:
        """What bin/version.txt says, e.g. ``WSO2 Enterprise Integrator v6.1.1``."""
        return f"WSO2 {self.title} v{version}"

    def start_command(self, home: str, worker: bool) -> str:
        """How the documents start a node: no -Dsetup (the scripts are run explicitly, E6)."""
        return f"sh {join(home, self.start_script)}" + (f" {self.worker_flag}" if worker else "")

    @property
    def has_passthrough(self) -> bool:
        return "pt_http" in self.ports


def _carbon4(product: str, title: str, short: str, major: str, roles: tuple[str, ...], ports: dict,
             agents: tuple, target: str, elb_service: str | None, files: dict,
             artifact: TestArtifact = PROXY_ARTIFACT) -> ProductSpec:
    return ProductSpec(
        product=product, profile=DEFAULT_PROFILE, title=title, short=short, major=major, roles=roles,
        carbon_home=".", conf_dir="repository/conf", lib_dir="repository/components/lib", dbscripts_dir="dbscripts",
        security_dir="repository/resources/security", files=_files(**files),
        ports=MappingProxyType(ports), default_offset=0, start_script="bin/wso2server.sh",
        worker_flag="-DworkerNode=true", log_file="repository/logs/wso2carbon.log", pid_file="wso2carbon.pid",
        agents=agents, registry_config_target=target, elb_service=elb_service, artifact=artifact)


EI_INTEGRATOR = ProductSpec(
    product="ei", profile=DEFAULT_PROFILE, title="Enterprise Integrator", short="EI", major="6",
    roles=("manager", "worker", "member"), carbon_home=".", conf_dir="conf", lib_dir="lib",
    dbscripts_dir="dbscripts", security_dir="repository/resources/security", files=_files(**_CARBON_FILES),
    ports=MappingProxyType({**SERVLET_PORTS, **PASSTHROUGH_PORTS}), default_offset=0,
    start_script="bin/integrator.sh", worker_flag="-DworkerNode=true", log_file="repository/logs/wso2carbon.log",
    pid_file="wso2carbon.pid", agents=(("6.0.0", HAZELCAST),), registry_config_target="/_system/eiconfig",
    elb_service="esb", home_profiles=(DEFAULT_PROFILE, BROKER_PROFILE))

_B = "wso2/broker"
EI_BROKER = ProductSpec(
    product="ei", profile=BROKER_PROFILE, title="Enterprise Integrator", short="EI", major="6", roles=("broker",),
    carbon_home=_B, conf_dir=f"{_B}/conf", lib_dir="lib", dbscripts_dir=f"{_B}/dbscripts",
    security_dir=f"{_B}/repository/resources/security",
    files=_files(**_CARBON_FILES, broker=("broker.xml", "coordination: nodeID, thrift, RDBMS coordination"),
                 qpid=("advanced/qpid-config.xml", "AMQP heartbeat"),
                 hazelcast=("hazelcast.properties", "Hazelcast settings of the broker cluster")),
    ports=MappingProxyType({**SERVLET_PORTS, **BROKER_PORTS}), default_offset=3,
    start_script="bin/broker.sh", worker_flag="-DworkerNode=true",
    log_file=f"{_B}/repository/logs/wso2carbon.log", pid_file=f"{_B}/wso2carbon.pid",
    agents=(("6.0.0", HAZELCAST),), registry_config_target="/_system/mbconfig",
    mb_store_script=f"{_B}/dbscripts/mb-store/mysql-mb.sql", home_profiles=(DEFAULT_PROFILE, BROKER_PROFILE))

# ESB 4.8 (Carbon 4.2) ships Hazelcast; ESB 4.0-4.7 (Carbon 4.0/4.1) Tribes.
ESB = _carbon4("esb", "Enterprise Service Bus", "ESB", "4", ("manager", "worker", "member"),
               {**SERVLET_PORTS, **PASSTHROUGH_PORTS}, (("4.0.0", TRIBES), ("4.8.0", HAZELCAST)),
               "/_system/esbnodes", "esb", _CARBON_FILES)
# AS 5.2.1 (document 001, our skeleton) ships Tribes; AS 5.3.0 Hazelcast (CARBON-RUNTIME.md).
AS = _carbon4("as", "Application Server", "AS", "5", ("manager", "worker", "member"), dict(SERVLET_PORTS),
              (("5.0.0", TRIBES), ("5.3.0", HAZELCAST)), "/_system/asnodes", "appserver", _CARBON_FILES,
              artifact=WEBAPP_ARTIFACT)
# ELB 2.0.x (Carbon 4.1) Tribes; 2.1.0 (Carbon 4.2) Hazelcast. Its PassThrough ports are the LB's.
ELB = _carbon4("elb", "Elastic Load Balancer", "ELB", "2", ("elb",), {**SERVLET_PORTS, **PASSTHROUGH_PORTS},
               (("2.0.0", TRIBES), ("2.1.0", HAZELCAST)), "", None,
               {**_CARBON_FILES, "lbconf": ("loadbalancer.conf", "the ELB's domains, host names, group_mgt_port"),
                "passthru": ("passthru-http.properties", "the PassThrough transport's socket timeout (E16)")})

SPECS: tuple[ProductSpec, ...] = (EI_INTEGRATOR, EI_BROKER, ESB, AS, ELB)
PRODUCTS: tuple[str, ...] = tuple(dict.fromkeys(s.product for s in SPECS))  # ei, esb, as, elb


def line_spec(product_name: str) -> ProductSpec:
    """The default-profile spec of a product line (its words, major version)."""
    for s in SPECS:
        if s.product == product_name and s.profile == DEFAULT_PROFILE:
            return s
    known = ", ".join(f"{s.short} ({s.product})" for s in SPECS if s.profile == DEFAULT_PROFILE)
    raise UnsupportedProduct(f"no product line `{product_name}`", fix=f"use one of {known}")


def profiles(product_name: str) -> tuple[str, ...]:
    return tuple(s.profile for s in SPECS if s.product == product_name)


def spec_for(product_name: str, version: str, profile: str = DEFAULT_PROFILE) -> ProductSpec:
    """The spec for PRODUCT_NAME VERSION in PROFILE; every version of a supported line is accepted."""
    line = line_spec(product_name)
    if not line.covers(version):
        raise UnsupportedProduct(f"{line.short} {version} is not a supported version",
                                 fix=f"use {line.versions} (the runbook supports "
                                     + ", ".join(s.versions for s in SPECS if s.profile == DEFAULT_PROFILE) + ")")
    for s in SPECS:
        if s.product == product_name and s.profile == profile:
            return s
    raise UnsupportedProduct(f"{line.short} has no `{profile}` profile",
                             fix=f"use one of {list(profiles(product_name))}")


def profile_for_role(role: str) -> str:
    """Which profile of a product a node of ROLE runs (only brokers run another one)."""
    return BROKER_PROFILE if role == BROKER_PROFILE else DEFAULT_PROFILE


def spec_for_role(product_name: str, version: str, role: str) -> ProductSpec:
    return spec_for(product_name, version, profile_for_role(role))


def role_allowed(product_name: str, role: str) -> ProductSpec | None:
    """The spec serving ROLE in this product line, or None when the line has no such role."""
    for s in SPECS:
        if s.product == product_name and role in s.roles:
            return s
    return None


def specs_for_role(role: str) -> list[ProductSpec]:
    return [s for s in SPECS if role in s.roles]
