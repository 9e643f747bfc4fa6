"""The cluster parameters: one validated model that can express every layout
in the source documents (see ../shared/seeds/INDEX.md).

Field-level rules live here (types, ranges, unknown keys); rules that look at
more than one field live in ``checks.py``; values computed from the model
(effective ports, well-known members, JDBC URLs, /etc/hosts lines) live in
``derive.py``, so they are computed once, in one place.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

NAME_RE = r"^[a-z][a-z0-9-]{0,14}$"
SQL_IDENT_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]{0,63}$")
HOSTNAME_RE = r"^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$"

Port = Annotated[int, Field(ge=1, le=65535)]
HostName = Annotated[str, Field(pattern=HOSTNAME_RE)]


class Strict(BaseModel):
    """Unknown keys are errors: a typo must never be silently ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class SecretRef(Strict):
    """A secret named, never written: resolved from the environment or the
    secrets file at run time (see secrets.py)."""

    secret: Annotated[str, Field(pattern=r"^[A-Z][A-Z0-9_]{1,63}$")]


class Product(Strict):
    name: Literal["ei", "esb", "as", "elb"]
    version: Annotated[str, Field(pattern=r"^\d+\.\d+\.\d+$")]

    @property
    def dist(self) -> str:
        """The lab skeleton/distribution name, e.g. ``ei-6.1.1``."""
        return f"{self.name}-{self.version}"


class Host(Strict):
    address: ipaddress.IPv4Address
    roles: list[Literal["node", "database", "load_balancer", "svn"]] = ["node"]
    ssh_user: str = "wso2"
    ssh_port: Port = 22
    sudo: bool = True
    jump: str | None = None  # another host's name, used as an SSH jump host


class Node(Strict):
    host: str
    role: Literal["manager", "worker", "member", "broker", "elb"]
    home: Annotated[str, Field(pattern=r"^/[^\s]*$")]
    product: Product | None = None  # defaults to the cluster's product
    offset: Annotated[int, Field(ge=0, le=1000)] | None = None
    local_member_port: Port
    local_member_host: str | None = None  # defaults to the host's address (E10)
    well_known: bool = False
    sub_domain: Literal["mgt", "worker"] | None = None  # derived from role when absent
    broker_node_id: str | None = None


class HostNames(Strict):
    cluster: HostName  # what clients use for services (the workers)
    management: HostName  # the management console (the manager)
    database: HostName | None = None  # an alias for the database host, as in the documents


class ExtraHost(Strict):
    name: HostName
    address: ipaddress.IPv4Address


class Cluster(Strict):
    domain: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]+$")]
    hostnames: HostNames
    membership_scheme: Literal["wka"] = "wka"
    extra_hosts: list[ExtraHost] = []


class LoadBalancer(Strict):
    kind: Literal["nginx", "elb", "none"]
    host: str | None = None  # nginx: the LB host; elb: ignored (the elb node says where)
    http_port: Port = 80
    https_port: Port = 443
    affinity: Literal["ip_hash", "sticky", "none"] = "ip_hash"
    tenant_range: str = "*"
    group_mgt_port: Port = 5000
    conf_dir: str = "/etc/nginx/conf.d"
    ssl_dir: str = "/etc/nginx/ssl"


class Databases(Strict):
    """Database names by role (E2: one consistent set, from here)."""

    user_store: str = "WSO2_USER_DB"
    shared_registry: str = "REGISTRY_DB"
    local_registry: dict[str, str] = {}  # node name -> database; empty = embedded H2
    mb_store: str | None = None


class Database(Strict):
    host: str
    port: Port = 3306
    admin_user: str = "root"
    admin_password: SecretRef
    app_user: str = "wso2carbon"
    app_password: SecretRef
    app_user_host: str = "%"
    charset: Literal["latin1", "utf8", "utf8mb4"] = "latin1"
    jdbc_options: str = "autoReconnect=true&useSSL=false"
    driver_jar: str = "/usr/share/java/mariadb-java-client.jar"
    names: Databases = Databases()

    @field_validator("admin_user", "app_user")
    @classmethod
    def _user_ident(cls, v: str) -> str:
        if not SQL_IDENT_RE.match(v):
            raise ValueError("not a safe SQL user name (letters, digits, _ and $; up to 64)")
        return v


class DeploymentSync(Strict):
    kind: Literal["svn", "none"] = "none"
    host: str | None = None
    url: str | None = None
    user: str | None = None
    password: SecretRef | None = None


class Certificates(Strict):
    key_type: Literal["rsa-2048", "rsa-3072", "rsa-4096", "ec-p256"] = "rsa-2048"
    days: Annotated[int, Field(ge=1, le=3650)] = 365
    truststore_alias: str = "wso2-lb"
    truststore_password: SecretRef
    ca_cert: str | None = None  # sign with this CA instead of self-signing
    ca_key: str | None = None


class Ssh(Strict):
    key: str
    known_hosts: str
    connect_timeout: Annotated[float, Field(gt=0, le=300)] = 10
    command_timeout: Annotated[float, Field(gt=0, le=3600)] = 120


class LabSettings(Strict):
    """Only the lab reads this: how to build the hosts on one machine."""

    subnet: ipaddress.IPv4Network
    gateway: ipaddress.IPv4Address
    dir: str = "/tmp/wso2-runbook-lab"


class Params(Strict):
    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]+$")]
    description: str = ""
    product: Product
    secrets_file: str | None = None
    ssh: Ssh
    hosts: dict[Annotated[str, Field(pattern=NAME_RE)], Host]
    nodes: dict[Annotated[str, Field(pattern=NAME_RE)], Node]
    cluster: Cluster
    load_balancer: LoadBalancer
    database: Database | None = None
    deployment_sync: DeploymentSync = DeploymentSync()
    certificates: Certificates | None = None
    lab: LabSettings | None = None

    def node_product(self, node: Node) -> Product:
        return node.product or self.product
