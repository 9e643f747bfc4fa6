"""The cluster parameters: one validated model that can express every layout
in the source documents (see ../shared/seeds/INDEX.md).

Field types and their one-field rules live in ``fields.py``; the model's
own rules live here (types, ranges, unknown keys, and rules about one
node or one section, so that they are reported together with every other
structural problem); rules that look at more than one section live in
``checks.py``; values computed from the model (effective ports, well-known
members, JDBC URLs, /etc/hosts lines) live in ``derive.py``, so they are
computed once, in one place.

A rule here that fails raises ``fail(message, fix)``: ``load.py`` turns it
into a ``Problem`` naming the file, the field path, the message and the fix.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated, Literal

from pydantic import Field, ValidationInfo, field_validator

from ..products import PRODUCTS, UnsupportedProduct, spec_for
from .fields import (DOMAIN_RE, MYSQL_HOST_RE, NODE_ID_RE, TENANT_RANGE_RE,
                     VERSION_RE, AbsPath, HostName, Name, Port, SecretRef, SqlIdent, SqlUser, Strict, UnixUser, fail)
from .deploysync import DeploymentSync
from .securevault import SecureVault

class Product(Strict):
    name: Literal[PRODUCTS]  # type: ignore[valid-type] - the lines of products.py: ei, esb, as, elb
    version: Annotated[str, Field(pattern=VERSION_RE)]

    @field_validator("version")
    @classmethod
    def _supported_line(cls, v: str, info: ValidationInfo) -> str:
        """Every version of a supported line (products.spec_for decides)."""
        name = info.data.get("name")
        if name in PRODUCTS:
            try:
                spec_for(name, v)
            except UnsupportedProduct as e:
                raise fail(e.message, e.fix) from None
        return v

    @property
    def dist(self) -> str:
        """The lab skeleton/distribution name, e.g. ``ei-6.1.1``."""
        return f"{self.name}-{self.version}"


class Host(Strict):
    address: ipaddress.IPv4Address
    roles: Annotated[list[Literal["node", "database", "load_balancer", "svn"]], Field(min_length=1)] = ["node"]
    ssh_user: UnixUser = "wso2"
    ssh_port: Port = 22
    sudo: bool = True
    jump: str | None = None  # another host's name, used as an SSH jump host


class Node(Strict):
    host: str
    role: Literal["manager", "worker", "member", "broker", "elb"]
    home: AbsPath
    product: Product | None = None  # defaults to the cluster's product
    offset: Annotated[int, Field(ge=0, le=1000)] | None = None
    local_member_port: Port
    local_member_host: str | None = None  # defaults to the host's address (E10)
    well_known: bool = False
    # The name the other nodes list this well-known member by in axis2.xml's <members>, as a
    # cluster built by hand often does (`<hostName>node206</hostName>`); absent: its IP (E10).
    # Both agents resolve the name when the node starts (wso2-axis2 Tribes: new StaticMember(
    # hostName, port); carbon-kernel Hazelcast: MemberUtils.addMember "host:port"), so the runbook
    # writes the name and maps it to local_member_host in /etc/hosts on every node host.
    member_name: HostName | None = None
    sub_domain: Literal["mgt", "worker"] | None = None  # derived from role when absent
    broker_node_id: str | None = None  # broker.xml nodeID; absent = `default` (NODE:host:port)

    @field_validator("local_member_host")
    @classmethod
    def _member_host_is_ip(cls, v: str | None) -> str | None:
        """E10: an IP address the other members can reach."""
        if v is None:
            return v
        try:
            ip = ipaddress.IPv4Address(v)
        except ValueError:
            raise fail(f"{v!r} is not an IP address (ERRATA E10)",
                       "use an IP address the other members can reach, or leave it out to use the host's address") \
                from None
        if ip.is_loopback or ip.is_unspecified:
            raise fail(f"{v} cannot be reached by the other members (ERRATA E10)",
                       "use the host's own IP address, or leave it out to use the host's address")
        return v

    @field_validator("sub_domain")
    @classmethod
    def _sub_domain_fits_role(cls, v: str | None, info: ValidationInfo) -> str | None:
        """E9: a worker's subDomain is `worker` (000 shows `mgt` by mistake)."""
        role = info.data.get("role")
        if v is None or role is None:
            return v
        if role == "worker" and v != "worker":
            raise fail(f"a worker's subDomain must be `worker`, not `{v}` (ERRATA E9)",
                       "set sub_domain: worker or leave it out")
        if role == "manager" and v != "mgt":
            raise fail(f"a manager's subDomain must be `mgt`, not `{v}`", "set sub_domain: mgt or leave it out")
        if role not in ("worker", "manager"):
            raise fail(f"only manager and worker nodes have a subDomain, not a `{role}` node",
                       "remove sub_domain from this node")
        return v

    @field_validator("broker_node_id")
    @classmethod
    def _node_id(cls, v: str | None, info: ValidationInfo) -> str | None:
        role = info.data.get("role")
        if v is None:
            return v
        if role is not None and role != "broker":
            raise fail(f"only broker nodes have a broker.xml nodeID, not a `{role}` node",
                       "remove broker_node_id from this node")
        if not NODE_ID_RE.match(v):
            raise fail(f"{v!r} is not a usable nodeID", "use letters, digits, '.', '_', ':' and '-' only")
        return v


class HostNames(Strict):
    cluster: HostName  # what clients use for services (the workers)
    management: HostName  # the management console (the manager)
    database: HostName | None = None  # an alias for the database host, as in the documents


class ExtraHost(Strict):
    name: HostName
    address: ipaddress.IPv4Address


class Cluster(Strict):
    domain: Annotated[str, Field(pattern=DOMAIN_RE)]
    hostnames: HostNames
    membership_scheme: Literal["wka"] = "wka"
    extra_hosts: list[ExtraHost] = []
    # E17: the largest clock difference allowed between any two hosts running
    # nodes, measured host against host (00); brokers have their own (brokers:).
    max_clock_skew_ms: Annotated[int, Field(ge=1, le=60000)] = 1000


class LoadBalancer(Strict):
    kind: Literal["nginx", "elb", "none"]
    host: str | None = None  # nginx: the LB host; elb: ignored (the elb node says where)
    http_port: Port = 80
    https_port: Port = 443
    affinity: Literal["ip_hash", "sticky", "none"] = "ip_hash"
    tenant_range: Annotated[str, Field(pattern=TENANT_RANGE_RE)] = "*"
    group_mgt_port: Port = 5000
    # WSO2 ELB: where the manager and workers list an ELB node marked
    # `well_known: true` as a well-known member, which is how the ELB learns
    # them. None: its group_mgt_port (000); 001 lists its localMemberPort 4000.
    registration_port: Port | None = None
    # WSO2 ELB: repository/conf/passthru-http.properties http.socket.timeout,
    # in MILLISECONDS (001 step 4; ERRATA E16: 001's "6000 (60 seconds)" is 6 s).
    # 0: never time out. None: leave the file as shipped.
    socket_timeout_ms: Annotated[int, Field(ge=0, le=86_400_000)] | None = None
    conf_dir: AbsPath = "/etc/nginx/conf.d"
    ssl_dir: AbsPath = "/etc/nginx/ssl"
    # nginx: the file (in conf_dir) of each vhost, where it is not <name>.<http|https>.conf:
    # a hand-built cluster's own file names, kept (runbook discover, issue 20). The two
    # HTTPS vhosts (https, mgt) may share one file; the HTTP vhost keeps a file of its own.
    vhost_files: dict[Literal["http", "https", "mgt"], Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]+\.conf$")]] = {}


    @field_validator("vhost_files")
    @classmethod
    def _one_vhost_per_file(cls, v: dict[str, str]) -> dict[str, str]:
        """01 writes the HTTP vhost before 02 makes the certificates the HTTPS vhosts need (nginx
        refuses a vhost whose certificate is missing), so the HTTP vhost's file holds it alone;
        02 writes both HTTPS vhosts, so they may share a file (nginx_conf.by_file)."""
        if "http" in v and list(v.values()).count(v["http"]) > 1:
            raise fail("the HTTP vhost shares its file with an HTTPS vhost",
                       "give the HTTP vhost a file of its own (01 writes it before 02 makes the certificates)")
        return v
        return v


class Databases(Strict):
    """Database names by role (E2: one consistent set, from here)."""

    user_store: SqlIdent = "WSO2_USER_DB"
    shared_registry: SqlIdent = "REGISTRY_DB"
    local_registry: dict[str, SqlIdent] = {}  # node name -> database; empty = embedded H2
    mb_store: SqlIdent | None = None


class Database(Strict):
    host: str
    port: Port = 3306
    admin_user: SqlUser = "root"
    admin_password: SecretRef
    app_user: SqlUser = "wso2carbon"
    app_password: SecretRef
    app_user_host: str = "%"
    charset: Literal["latin1", "utf8", "utf8mb4"] = "latin1"
    jdbc_options: str = "autoReconnect=true&useSSL=false"
    # The datasources' URL scheme: jdbc:mysql: (the documents') or jdbc:mariadb:.
    # MariaDB Connector/J 3.x refuses jdbc:mysql: unless jdbc_options holds
    # permitMysqlScheme=true (03 reads the driver jar's version and says so).
    url_scheme: Literal["mysql", "mariadb"] = "mysql"
    driver_jar: AbsPath = "/usr/share/java/mariadb-java-client.jar"
    names: Databases = Databases()
    tunnel_via: str | None = None  # reach the database through an SSH tunnel via this host

    @field_validator("app_user_host")
    @classmethod
    def _mysql_host(cls, v: str) -> str:
        if not MYSQL_HOST_RE.match(v):
            raise fail(f"{v!r} is not a safe MySQL account host",
                       "use a host name, an IP address or a pattern with % such as 198.51.100.%")
        return v

    @field_validator("jdbc_options")
    @classmethod
    def _mysql_options(cls, v: str) -> str:
        """E3: MySQL URL options (`a=b&c=d`), not H2's `;`-separated ones."""
        if not v:
            return v
        if v.startswith("?"):
            raise fail("starts with `?`", "leave the `?` out: the runbook adds it, e.g. autoReconnect=true&useSSL=false")
        if ";" in v or "DB_CLOSE" in v.upper() or "LOCK_TIMEOUT" in v.upper():
            raise fail("H2 options in a MySQL URL (ERRATA E3)",
                       "use MySQL options joined by &, e.g. autoReconnect=true&useSSL=false")
        pairs = v.split("&")
        if any(not re.fullmatch(r"[A-Za-z][A-Za-z0-9_.]*=[^\s&=]*", pair) for pair in pairs):
            raise fail(f"{v!r} is not of the form name=value&name=value",
                       "write MySQL URL options as autoReconnect=true&useSSL=false")
        if any(pair.split("=", 1)[0].lower() in ("password", "user") for pair in pairs):
            raise fail("a user or password in the JDBC URL options",
                       "remove it: the user is app_user and the password app_password: {secret: NAME}")
        return v


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
    parallel: Annotated[int, Field(ge=1, le=256)] = 16  # hosts worked on at once (fanout.py)


class LabSettings(Strict):
    """Only the lab reads this: how to build the hosts on one machine."""

    subnet: ipaddress.IPv4Network
    gateway: ipaddress.IPv4Address
    dir: AbsPath = "/tmp/wso2-runbook-lab"


class BrokerCoordination(Strict):
    """broker.xml's RDBMS coordination (003 "Optional: Configuring cluster
    coordination"); the defaults are the shipped values."""

    heartbeat_interval_ms: Annotated[int, Field(ge=500, le=600000)] = 5000
    coordinator_entry_creation_wait_ms: Annotated[int, Field(ge=100, le=600000)] = 3000
    event_polling_interval_ms: Annotated[int, Field(ge=100, le=600000)] = 4000
    event_sync_interval_ms: Annotated[int, Field(ge=100, le=600000)] = 1000


class NetworkPartitions(Strict):
    """broker.xml networkPartitionsDetection: below minimumClusterSize live nodes
    a node refuses traffic (003 "Handling network partitioning")."""

    enabled: bool = False
    minimum_cluster_size: Annotated[int, Field(ge=1, le=100)] = 1


class AmqpHeartbeat(Strict):
    """advanced/qpid-config.xml heartbeat between broker and clients (003: delay 30, timeoutFactor 2.0)."""

    delay_s: Annotated[int, Field(ge=0, le=3600)] = 30
    timeout_factor: Annotated[float, Field(gt=0, le=100)] = 2.0


class Brokers(Strict):
    """The message-broker nodes' own cluster (document 003). It has its own
    Hazelcast domain: in a layout that also has an integrator cluster, one shared
    domain would make the two clusters join each other."""

    domain: Annotated[str, Field(pattern=DOMAIN_RE)] | None = None  # absent: cluster.domain (003 alone)
    thrift_port: Port = 7611  # broker.xml thriftServerPort; the Offset is added (E12)
    thrift_so_timeout_ms: Annotated[int, Field(ge=0, le=3600000)] = 180000  # 003's advice
    coordination: BrokerCoordination = BrokerCoordination()
    network_partitions: NetworkPartitions = NetworkPartitions()
    amqp_heartbeat: AmqpHeartbeat = AmqpHeartbeat()
    max_clock_skew_ms: Annotated[int, Field(ge=1, le=60000)] = 1000  # E17: measured, not ntpdate cron jobs


class Params(Strict):
    """A WSO2 Carbon 4.x cluster: hosts, nodes, load balancer, database,
    deployment synchronizer and certificates. Secrets are named, never written."""

    name: Annotated[str, Field(pattern=DOMAIN_RE)]
    description: str = ""
    product: Product
    secrets_file: str | None = None
    ssh: Ssh
    hosts: Annotated[dict[Name, Host], Field(min_length=1)]
    nodes: Annotated[dict[Name, Node], Field(min_length=1)]
    cluster: Cluster
    load_balancer: LoadBalancer
    database: Database | None = None
    brokers: Brokers | None = None  # the broker nodes' own cluster (003); defaults when absent
    deployment_sync: DeploymentSync = DeploymentSync()
    certificates: Certificates | None = None
    securevault: SecureVault = SecureVault()  # issue 19: secrets at rest as cipher-tool leaves them
    lab: LabSettings | None = None
    # How long `runbook backups` keeps the runs' <file>.bak.<run id> copies before offering to prune them.
    backup_retention_days: Annotated[int, Field(ge=1, le=3650)] = 30

    def node_product(self, node: Node) -> Product:
        return node.product or self.product
