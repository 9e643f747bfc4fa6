"""Hot deployment of proxy services from
repository/deployment/server/synapse-configs/default/proxy-services/, and
running them on the PassThrough ports (CARBON-RUNTIME.md "Proxy services
and the log mediator"). Carbon scans the repository every
DeploymentUpdateInterval seconds (carbon.xml, 15 as shipped).

Mediators the stand-in runs: log (simple, headers, full, custom, with
literal properties), property (ignored), respond (the request is echoed
back), drop. A proxy whose in-sequence neither responds, sends nor drops
leaves the client waiting, as Synapse does (nothing sends a response), until
the PassThrough transport's socket timeout; the stand-in then closes the
connection without an answer (SOURCES.md row X1: unsourced, the stricter
reading; the 180 s is PassThrough's default http.socket.timeout, unverified).
A `send` has no back-end in the lab: answered 202 (unsourced).
A proxy whose file disappears is undeployed on the next cycle, logged as
Synapse logs it (SOURCES.md U1)."""

from __future__ import annotations

import threading
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

NO_RESPONSE_WAIT = 180.0  # seconds a request to a proxy without respond/send is held (X1)

SYN = "{http://ws.apache.org/ns/synapse}"
PROXY_DIR = "repository/deployment/server/synapse-configs/default/proxy-services"
DEPLOYER = "org.apache.synapse.deployers.ProxyServiceDeployer"
PROXY = "org.apache.synapse.core.axis2.ProxyService"
LOGMED = "org.apache.synapse.mediators.builtin.LogMediator"


@dataclass
class Proxy:
    name: str
    path: Path
    mtime: float
    transports: list[str]
    in_sequence: list[ET.Element] = field(default_factory=list)


def _local(tag) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def parse_proxy(path: Path) -> Proxy:
    root = ET.parse(path).getroot()
    if _local(root.tag) != "proxy" or not root.get("name"):
        raise ValueError("root element is not <proxy name=...>")
    target = next((c for c in root if _local(c.tag) == "target"), None)
    seq = next((c for c in target if _local(c.tag) == "inSequence"), None) if target is not None else None
    transports = (root.get("transports") or "http https").replace(",", " ").split()
    return Proxy(root.get("name"), path, path.stat().st_mtime, transports, list(seq) if seq is not None else [])


class Deployer:
    def __init__(self, node):
        self.node = node
        self.dir = node.carbon_home / PROXY_DIR
        self._proxies: dict[Path, Proxy] = {}
        self._failed: dict[Path, float] = {}
        self._lock = threading.Lock()

    def names(self) -> list[str]:
        with self._lock:
            return sorted(p.name for p in self._proxies.values())

    def scan(self) -> None:
        """One deployment cycle: deploy new or changed files, undeploy removed ones."""
        files = {p: p.stat().st_mtime for p in sorted(self.dir.glob("*.xml"))} if self.dir.is_dir() else {}
        log = self.node.log
        with self._lock:
            for path in [p for p in self._proxies if p not in files]:
                gone = self._proxies.pop(path)  # the file is gone: an undeployment (SOURCES.md U1)
                log.info(PROXY, f"Stopped the proxy service : {gone.name}")
                log.info(DEPLOYER, f"ProxyService named '{gone.name}' has been undeployed")
            for path, mtime in files.items():
                old = self._proxies.get(path)
                if (old and old.mtime == mtime) or self._failed.get(path) == mtime:
                    continue
                try:
                    proxy = parse_proxy(path)
                except (ET.ParseError, ValueError, OSError) as e:
                    self._failed[path] = mtime
                    log.error(DEPLOYER, f"ProxyService Deployment from the file : {path} : Failed. ({e})")
                    continue
                self._failed.pop(path, None)
                self._proxies[path] = proxy
                log.info(PROXY, f"Building Axis service for Proxy service : {proxy.name}")
                log.info(PROXY, f"Started the proxy service : {proxy.name}")
                log.info(DEPLOYER, f"ProxyService named '{proxy.name}' has been "
                                   f"{'updated' if old else 'deployed'} from file : {path}")

    def find(self, name: str) -> Proxy | None:
        with self._lock:
            return next((p for p in self._proxies.values() if p.name == name), None)

    def invoke(self, name: str, req):
        proxy = self.find(name)
        if proxy is None or req.scheme not in proxy.transports:
            fault = ("<soapenv:Envelope xmlns:soapenv=\"http://schemas.xmlsoap.org/soap/envelope/\"><soapenv:Body>"
                     "<soapenv:Fault><faultcode>soapenv:Client</faultcode><faultstring>The endpoint reference (EPR) "
                     f"for the Operation not found is /services/{name} and the WSA Action = null. If this EPR was "
                     "previously reachable, please contact the server administrator.</faultstring></soapenv:Fault>"
                     "</soapenv:Body></soapenv:Envelope>")
            return 500, {"Content-Type": "text/xml"}, fault.encode()
        msg_id = f"urn:uuid:{uuid.uuid4()}"
        for med in proxy.in_sequence:
            kind = _local(med.tag)
            if kind == "log":
                self.node.log.info(LOGMED, log_line(med, req, msg_id))
            elif kind == "respond":
                return 200, {"Content-Type": req.headers.get("Content-Type") or "text/xml"}, req.body
            elif kind in ("drop", "send"):
                return 202, {}, b""
        self.node.stopping.wait(NO_RESPONSE_WAIT)
        return None


def log_line(med: ET.Element, req, msg_id: str) -> str:
    level = med.get("level", "simple")
    sep = med.get("separator", ", ")
    props = []
    for p in med:
        if _local(p.tag) == "property":
            value = p.get("value")
            if value is None:
                expr = p.get("expression", "")
                value = req.headers.get(expr[5:], "null") if expr.startswith("$trp:") else "null"
            props.append(f"{p.get('name')} = {value}")
    if level == "custom":
        return sep.join(props)
    parts = [f"To: {req.path}", f"MessageID: {msg_id}", "Direction: request"]
    if level in ("headers", "full"):
        parts += [f"{k} = {v}" for k, v in req.headers.items()]
    if level == "full":
        parts.append(f"Envelope: {req.body.decode('utf-8', 'replace')}")
    return sep.join(parts + props)
