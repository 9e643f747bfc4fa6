"""Web applications on the Application Server (the stand-in's AS profile):
hot deployment of exploded webapps from repository/deployment/server/webapps/
on each deployment cycle, serving their static files on the servlet ports,
and Tomcat's access log.

Sources (not in CARBON-RUNTIME.md, checked in WSO2's and Apache's code):
- carbon-deployment, org.wso2.carbon.webapp.mgt.TomcatGenericWebappsDeployer:
  `log.info("Deployed webapp: " + webapp)`, where the webapp prints as its
  Tomcat context and file:
  `StandardEngine[Catalina].StandardHost[localhost].StandardContext[/<name>].File[<path>]`;
  a webapp whose folder is gone is undeployed, `log.info("Undeployed webapp: " + webapp)`
  (SOURCES.md U1).
- the AS catalina-server.xml as shipped: an AccessLogValve on the Host with
  directory `${carbon.home}/repository/logs`, prefix `http_access_`, suffix
  `.log`, pattern `combined`. Tomcat writes one line per request to
  `<prefix><yyyy-MM-dd><suffix>`, in the combined layout
  `%h %l %u %t "%r" %s %b "%{Referer}i" "%{User-Agent}i"`.
What the stand-in leaves out: .war archives (only exploded directories are
deployed), servlets and JSPs (static files only)."""

from __future__ import annotations

import threading
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

WEBAPPS_DIR = "repository/deployment/server/webapps"
DEPLOYER = "org.wso2.carbon.webapp.mgt.TomcatGenericWebappsDeployer"
ACCESS_VALVE = "org.apache.catalina.valves.AccessLogValve"
TYPES = {".html": "text/html", ".txt": "text/plain", ".xml": "application/xml", ".json": "application/json"}


@dataclass(frozen=True)
class AccessLog:
    directory: Path
    prefix: str
    suffix: str

    def path(self, when: float) -> Path:
        return self.directory / f"{self.prefix}{time.strftime('%Y-%m-%d', time.localtime(when))}{self.suffix}"


def access_log(catalina: Path, carbon_home: Path) -> AccessLog | None:
    """The Host's AccessLogValve in catalina-server.xml, or None when it has none."""
    for el in ET.parse(catalina).getroot().iter():
        if isinstance(el.tag, str) and el.tag.rsplit("}", 1)[-1] == "Valve" and el.get("className") == ACCESS_VALVE:
            directory = el.get("directory", "logs").replace("${carbon.home}", str(carbon_home))
            d = Path(directory) if directory.startswith("/") else carbon_home / directory
            return AccessLog(d, el.get("prefix", "access_log."), el.get("suffix", ""))
    return None


def combined_line(client: str, method: str, target: str, version: str, status: int, size: int,
                  headers: dict, when: float) -> str:
    stamp = time.strftime("%d/%b/%Y:%H:%M:%S %z", time.localtime(when))
    referer, agent = headers.get("Referer") or "-", headers.get("User-Agent") or "-"
    return (f'{client} - - [{stamp}] "{method} {target} {version}" {status} {size or "-"} '
            f'"{referer}" "{agent}"\n')


def context(name: str, path: Path) -> str:
    """How a WebApplication prints: its Tomcat context and file."""
    ctx = "" if name == "ROOT" else f"/{name}"
    return f"StandardEngine[Catalina].StandardHost[localhost].StandardContext[{ctx}].File[{path}]"


class WebappDeployer:
    """One deployment cycle per scan(), as the proxy deployer; the webapps it
    has deployed answer on the servlet ports through serve()."""

    def __init__(self, node):
        self.node = node
        self.dir = node.carbon_home / WEBAPPS_DIR
        self._apps: dict[str, Path] = {}
        self._lock = threading.Lock()

    def names(self) -> list[str]:
        with self._lock:
            return sorted(self._apps)

    def scan(self) -> None:
        found = {p.name: p for p in sorted(self.dir.iterdir()) if p.is_dir()} if self.dir.is_dir() else {}
        with self._lock:
            for name in [n for n in self._apps if n not in found]:
                gone = self._apps.pop(name)  # its folder is gone: an undeployment (SOURCES.md U1)
                self.node.log.info(DEPLOYER, f"Undeployed webapp: {context(name, gone)}")
            for name, path in found.items():
                if name in self._apps:
                    continue
                self._apps[name] = path
                self.node.log.info(DEPLOYER, f"Deployed webapp: {context(name, path)}")

    def serve(self, path: str) -> tuple[int, dict, bytes] | None:
        """A static file of a deployed webapp, or None when no webapp has PATH."""
        parts = path.lstrip("/").split("/", 1)
        with self._lock:
            root = self._apps.get(parts[0]) if parts[0] else None
        if root is None:
            return None
        rel = parts[1] if len(parts) > 1 else ""
        target = (root / rel).resolve()
        if target.is_dir():
            target = target / "index.html"
        if root.resolve() not in target.parents or not target.is_file():
            return 404, {"Content-Type": "text/html"}, b"<html><body><h1>HTTP Status 404</h1></body></html>"
        return 200, {"Content-Type": TYPES.get(target.suffix, "application/octet-stream")}, target.read_bytes()
