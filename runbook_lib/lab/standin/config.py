"""Reading a node's own files, with the precedence the real server has:
system properties (-DportOffset, -DworkerNode) over carbon.xml; carbon.xml's
Offset shifts every transport port (servlet in catalina-server.xml,
PassThrough in axis2.xml) but not localMemberPort (ERRATA E10).

A file that is not well-formed XML stops start-up with the parser's message
and the file's path, as the real server does."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

from . import securevault
from .errors import StartupError

CARBON_NS = "{http://wso2.org/projects/carbon/carbon.xml}"


def parse(path: Path, logger: str) -> ET.Element:
    try:
        return ET.parse(path).getroot()
    except FileNotFoundError:
        raise StartupError(f"Cannot find configuration file {path}", logger) from None
    except ET.ParseError as e:
        raise StartupError(f"Error while parsing {path}: {e} (the file is not well-formed XML)", logger) from None


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def find(el: ET.Element, *path: str) -> ET.Element | None:
    """Namespace-agnostic child lookup by local names."""
    cur = el
    for name in path:
        nxt = None
        for child in cur:
            if isinstance(child.tag, str) and _local(child.tag) == name:
                nxt = child
                break
        if nxt is None:
            return None
        cur = nxt
    return cur


def text(el: ET.Element, *path: str, default: str | None = None) -> str | None:
    found = find(el, *path)
    return (found.text or "").strip() if found is not None and found.text is not None else default


@dataclass
class Carbon:
    name: str
    version: str
    offset: int
    host_name: str | None
    mgt_host_name: str | None
    deployment_interval: int
    depsync: dict[str, str]          # DeploymentSynchronizer children (Enabled, AutoCommit, SvnUrl, ...)


def read_carbon(conf: Path, sysprops: dict[str, str], vault: dict[str, str] | None = None) -> Carbon:
    """carbon.xml; an element with svns:secretAlias gets the vault's secret (ServerConfiguration)."""
    root = parse(conf / "carbon.xml", "org.wso2.carbon.base.ServerConfiguration")
    offset = sysprops.get("portOffset") or text(root, "Ports", "Offset", default="0")
    try:
        off = int(offset or 0)
    except ValueError:
        raise StartupError(f"Invalid port offset '{offset}' in {conf / 'carbon.xml'}",
                           "org.wso2.carbon.base.ServerConfiguration") from None
    ds_el = find(root, "DeploymentSynchronizer")
    depsync = {_local(c.tag): securevault.resolve(c, vault) or "" for c in ds_el if isinstance(c.tag, str)} \
        if ds_el is not None else {}
    interval = text(root, "Axis2Config", "DeploymentUpdateInterval", default="15")
    return Carbon(name=text(root, "Name", default="WSO2 Carbon") or "WSO2 Carbon",
                  version=text(root, "Version", default="") or "", offset=off,
                  host_name=text(root, "HostName"), mgt_host_name=text(root, "MgtHostName"),
                  deployment_interval=int(interval or 15), depsync=depsync)


@dataclass
class Clustering:
    enabled: bool
    agent: str
    scheme: str
    domain: str
    local_host: str | None
    local_port: int
    sub_domain: str | None
    properties: dict[str, str]
    members: list[tuple[str, int]]


@dataclass
class Axis2:
    clustering: Clustering
    transports: dict[str, tuple[str, int]] = field(default_factory=dict)  # name -> (class, port)


def read_axis2(conf: Path) -> Axis2:
    root = parse(conf / "axis2" / "axis2.xml", "org.apache.axis2.deployment.AxisConfigBuilder")
    transports = {}
    for tr in root:
        if isinstance(tr.tag, str) and _local(tr.tag) == "transportReceiver":
            port = next((p.text for p in tr if isinstance(p.tag, str) and p.get("name") == "port"), None)
            if port and port.strip().isdigit():
                transports[tr.get("name", "")] = (tr.get("class", ""), int(port.strip()))
    cl = find(root, "clustering")
    if cl is None:
        return Axis2(Clustering(False, "", "", "", None, 4000, None, {}, []), transports)
    params = {p.get("name"): (p.text or "").strip() for p in cl if isinstance(p.tag, str) and _local(p.tag) == "parameter"}
    props = {}
    for p in cl:
        if isinstance(p.tag, str) and p.get("name") == "properties":
            props = {q.get("name", ""): q.get("value", "") for q in p if isinstance(q.tag, str)}
    members = []
    mem_el = find(cl, "members")
    for m in (mem_el if mem_el is not None else []):
        if isinstance(m.tag, str) and _local(m.tag) == "member":
            host, port = text(m, "hostName"), text(m, "port")
            if host and port and port.isdigit():
                members.append((host, int(port)))
    return Axis2(Clustering(
        enabled=cl.get("enable", "false").strip().lower() == "true", agent=cl.get("class", "").strip(),
        scheme=params.get("membershipScheme", "multicast"), domain=params.get("domain", "wso2.carbon.domain"),
        local_host=params.get("localMemberHost"), local_port=int(params.get("localMemberPort", "4000") or 4000),
        sub_domain=props.get("subDomain"), properties=props, members=members), transports)


def read_catalina(conf: Path) -> dict[str, int]:
    """Servlet connector ports by scheme: {"http": 9763, "https": 9443}."""
    root = parse(conf / "tomcat" / "catalina-server.xml", "org.wso2.carbon.tomcat.internal.ServerManager")
    ports = {}
    for c in root.iter():
        if isinstance(c.tag, str) and _local(c.tag) == "Connector" and c.get("port", "").isdigit():
            scheme = "https" if c.get("scheme") == "https" or c.get("SSLEnabled") == "true" else "http"
            ports.setdefault(scheme, int(c.get("port")))
    return ports


def referenced_datasources(conf: Path) -> list[tuple[str, str]]:
    """(file, JNDI name) of every dataSource registry.xml and user-mgt.xml use."""
    out = []
    if (conf / "registry.xml").exists():
        reg = parse(conf / "registry.xml", "org.wso2.carbon.registry.core.config.RegistryConfigurationProcessor")
        for db in reg:
            if isinstance(db.tag, str) and _local(db.tag) == "dbConfig":
                ds = text(db, "dataSource")
                if ds:
                    out.append(("registry.xml", ds))
    if (conf / "user-mgt.xml").exists():
        um = parse(conf / "user-mgt.xml", "org.wso2.carbon.user.core.config.RealmConfigXMLProcessor")
        for p in um.iter():
            if isinstance(p.tag, str) and _local(p.tag) == "Property" and p.get("name") == "dataSource":
                out.append(("user-mgt.xml", (p.text or "").strip()))
    return out


def admin_user(conf: Path, vault: dict[str, str] | None = None) -> tuple[str, str]:
    """(user, password); a password with svns:secretAlias comes from the vault (RealmConfigXMLProcessor)."""
    um = parse(conf / "user-mgt.xml", "org.wso2.carbon.user.core.config.RealmConfigXMLProcessor")
    for el in um.iter():
        if isinstance(el.tag, str) and _local(el.tag) == "AdminUser":
            return text(el, "UserName", default="admin") or "admin", \
                securevault.resolve(find(el, "Password"), vault) or "admin"
    return "admin", "admin"


_TOKEN = re.compile(r"#[^\n]*|[{};]|[^\s{};#]+")


def read_loadbalancer_conf(path: Path) -> dict:
    """loadbalancer.conf as nested dicts; `name value;` -> str, `name { }` -> dict.
    A block left open at the end of the file is closed there (the shipped
    file lacks the closing brace of `services`, and the ELB accepts it)."""
    try:
        src = path.read_text()
    except FileNotFoundError:
        raise StartupError(f"Cannot find {path}", "org.wso2.carbon.lb.common.conf.LoadBalancerConfiguration") from None
    root: dict = {}
    stack = [root]
    words: list[str] = []
    for tok in _TOKEN.findall(src):
        if tok.startswith("#"):
            continue
        if tok == "{":
            if not words:
                raise StartupError(f"Malformed {path}: '{{' without a name",
                                   "org.wso2.carbon.lb.common.conf.LoadBalancerConfiguration")
            child: dict = {}
            stack[-1][" ".join(words)] = child
            stack.append(child)
            words = []
        elif tok == "}":
            if len(stack) == 1:
                raise StartupError(f"Malformed {path}: unbalanced '}}'",
                                   "org.wso2.carbon.lb.common.conf.LoadBalancerConfiguration")
            stack.pop()
            words = []
        elif tok == ";":
            if words:
                stack[-1][words[0]] = " ".join(words[1:])
            words = []
        else:
            words.append(tok)
    return root
