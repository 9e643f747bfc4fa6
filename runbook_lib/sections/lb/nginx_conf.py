"""The nginx virtual hosts of documents 002/004, rendered from the params.

Pure functions, no host access: 01_load_balancer writes the HTTP vhost,
02_certificates the two HTTPS vhosts once their certificates exist (nginx
refuses a vhost whose certificate file is missing). Departures from the
documents: ``listen 443 ssl`` instead of ``ssl on`` (ERRATA E14), ``ip_hash``
instead of NGINX Plus ``sticky learn`` unless asked for (ERRATA E15), and a
``X-Runbook-Vhost`` response header so verification can prove which vhost
answered, even when no backend runs (nginx's own 502 carries it too).

As the documents write them: 004's WebSocket upgrade lines (`proxy_http_version
1.1`, `Upgrade`, `Connection "upgrade"`) in each of its vhosts, and the
management vhost's own `error_log`/`access_log` (002: mgt-error.log and
mgt-access.log, 004: ui-error.log and ui-access.log: the first label of the
management name) in /var/log/nginx.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass

from ...facts.tls import cert_paths  # where the vhosts point
from ...params import NodeView, Params, node_views

MARKER = "X-Runbook-Vhost"
PROXY = """        proxy_set_header X-Forwarded-Host $host;
        proxy_set_header X-Forwarded-Server $host;
        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        proxy_set_header Host $http_host;
        proxy_read_timeout 5m;
        proxy_send_timeout 5m;"""
# 004 only: WebSocket connections pass through (the Upgrade handshake is hop-by-hop,
# so nginx forwards it only when told to, over HTTP/1.1).
UPGRADE = """        proxy_http_version 1.1;
        proxy_set_header Upgrade $http_upgrade;
        proxy_set_header Connection "upgrade";"""
LOG_DIR = "/var/log/nginx"  # where 002 and 004 put the management vhost's logs
# NGINX Plus (any version) or community nginx from 1.29.6 has `sticky` (ERRATA E15).
STICKY_SINCE = (1, 29, 6)


@dataclass(frozen=True)
class Upstream:
    name: str
    servers: tuple[str, ...]  # "address:port"
    affinity: str  # "ip_hash", "sticky" or ""

    def text(self) -> str:
        lines = [f"upstream {self.name} {{"] + [f"    server {s};" for s in self.servers]
        if self.affinity == "ip_hash":
            lines.append("    ip_hash;")
        elif self.affinity == "sticky":
            zone = re.sub(r"[^A-Za-z0-9_]", "_", self.name)
            lines.append("    sticky learn create=$upstream_cookie_jsessionid lookup=$cookie_jsessionid "
                         f"zone={zone}_sessions:1m;")
        return "\n".join(lines + ["}"])


@dataclass(frozen=True)
class Vhost:
    """One file in nginx's conf.d: an upstream and the server block using it."""

    key: str  # "http", "https" or "mgt"
    path: str
    server_name: str
    port: int
    upstream: Upstream
    backend_scheme: str  # how nginx talks to the nodes: http or https
    cert: str | None = None
    cert_key: str | None = None
    purpose: str = ""
    websocket: bool = False  # 004's upgrade lines
    log_prefix: str | None = None  # error_log/access_log as LOG_DIR/<prefix>-error.log, -access.log

    @property
    def logs(self) -> tuple[str, str] | None:
        """(error log, access log) of this vhost, or None (nginx's own)."""
        if not self.log_prefix:
            return None
        return (posixpath.join(LOG_DIR, f"{self.log_prefix}-error.log"),
                posixpath.join(LOG_DIR, f"{self.log_prefix}-access.log"))

    @property
    def tls(self) -> bool:
        return self.cert is not None

    def text(self) -> str:
        listen = f"{self.port} ssl" if self.tls else str(self.port)
        head = [f"# {self.purpose}", "# Written by the WSO2 cluster runbook from the params: edit the params, not this file.",
                ""]
        server = ["server {", f"    listen {listen};", f"    server_name {self.server_name};"]
        if self.tls:
            server += [f"    ssl_certificate {self.cert};", f"    ssl_certificate_key {self.cert_key};"]
        server += [f"    add_header {MARKER} {self.server_name} always;", "", "    location / {", PROXY,
                   f"        proxy_pass {self.backend_scheme}://{self.upstream.name};"]
        server += [UPGRADE] if self.websocket else []
        server += ["    }"]
        if self.logs:
            server += [f"    error_log {self.logs[0]};", f"    access_log {self.logs[1]};"]
        server += ["}"]
        return "\n".join(head + [self.upstream.text(), ""] + server) + "\n"

    def content(self) -> bytes:
        return self.text().encode()


def workers(p: Params) -> list[NodeView]:
    """Service traffic goes to the workers (000/002), or to every member (004)."""
    return [v for v in node_views(p).values() if v.node.role in ("worker", "member")]


def managers(p: Params) -> list[NodeView]:
    """The management console: the manager, or the first member (004 sends it to node 1)."""
    views = node_views(p).values()
    return [v for v in views if v.node.role == "manager"] or [v for v in views if v.node.role == "member"][:1]


def _servers(nodes: list[NodeView], port_key: str, fallback: str) -> tuple[str, ...]:
    """PassThrough ports (8280/8243 + offset) where the product has them, else
    the servlet ports (AS: 9763/9443 + offset)."""
    return tuple(f"{v.address}:{v.ports.get(port_key, v.ports[fallback])}" for v in nodes)


def websocket(p: Params) -> bool:
    """004's layout (members, no manager) is the one whose vhosts pass WebSocket upgrades."""
    return any(v.node.role == "member" for v in node_views(p).values())


def http_vhost(p: Params) -> Vhost:
    lb, name = p.load_balancer, p.cluster.hostnames.cluster
    up = Upstream(f"{name}-http", _servers(workers(p), "pt_http", "http"), "")
    return Vhost("http", posixpath.join(lb.conf_dir, lb.vhost_files.get("http", f"{name}.http.conf")), name,
                 lb.http_port, up, "http",
                 purpose=f"HTTP {lb.http_port} for {name}: round robin over the workers' pass-through HTTP ports.",
                 websocket=websocket(p))


def https_vhost(p: Params) -> Vhost:
    lb, name = p.load_balancer, p.cluster.hostnames.cluster
    affinity = "" if lb.affinity == "none" else lb.affinity
    up = Upstream(f"{name}-https", _servers(workers(p), "pt_https", "https"), affinity)
    crt, key = cert_paths(p, name)
    how = {"ip_hash": "ip_hash affinity", "sticky": "sticky-cookie affinity", "": "no affinity"}[affinity]
    return Vhost("https", posixpath.join(lb.conf_dir, lb.vhost_files.get("https", f"{name}.https.conf")), name,
                 lb.https_port, up, "https",
                 crt, key, f"HTTPS {lb.https_port} for {name}: the workers' pass-through HTTPS ports, {how}.",
                 websocket=websocket(p))


def mgt_vhost(p: Params) -> Vhost:
    lb, name = p.load_balancer, p.cluster.hostnames.management
    up = Upstream(f"{name}-https", _servers(managers(p), "https", "https"), "")
    crt, key = cert_paths(p, name)
    return Vhost("mgt", posixpath.join(lb.conf_dir, lb.vhost_files.get("mgt", f"{name}.https.conf")), name,
                 lb.https_port, up, "https",
                 crt, key, f"HTTPS {lb.https_port} for {name}: the management console (servlet HTTPS port).",
                 websocket=websocket(p), log_prefix=name.split(".")[0])


def tls_vhosts(p: Params) -> list[Vhost]:
    return [https_vhost(p), mgt_vhost(p)]


def all_vhosts(p: Params) -> list[Vhost]:
    return [http_vhost(p), *tls_vhosts(p)]


def by_file(vhosts: list[Vhost]) -> dict[str, list[Vhost]]:
    """The vhosts of each file, in order: one each, or the two HTTPS vhosts in one file
    where a cluster built by hand keeps them so (load_balancer.vhost_files, issue 20)."""
    out: dict[str, list[Vhost]] = {}
    for v in vhosts:
        out.setdefault(v.path, []).append(v)
    return out


def file_content(vhosts: list[Vhost]) -> bytes:
    """The file holding VHOSTS (all of one path): each vhost's text, a blank line between."""
    return "\n".join(v.text() for v in vhosts).encode()


def nginx_version(text: str) -> tuple[tuple[int, ...], bool]:
    """(version, is NGINX Plus) from `nginx -v` output."""
    m = re.search(r"nginx/(\d+)\.(\d+)\.(\d+)", text)
    version = tuple(int(x) for x in m.groups()) if m else (0, 0, 0)
    return version, "plus" in text.lower()


def sticky_supported(version_text: str) -> bool:
    version, plus = nginx_version(version_text)
    return plus or version >= STICKY_SINCE


def config_files(nginx_t: str) -> dict[str, str]:
    """`nginx -T` output split into {file path: content}."""
    parts = re.split(r"^# configuration file (\S+):\n", nginx_t, flags=re.M)
    return {parts[i]: parts[i + 1] for i in range(1, len(parts) - 1, 2)}


def upstream_servers(conf: str, name: str) -> list[str] | None:
    """The `server` lines of upstream NAME in config text, None when absent."""
    m = re.search(r"^\s*upstream\s+" + re.escape(name) + r"\s*\{(.*?)\}", conf, flags=re.M | re.S)
    if not m:
        return None
    return re.findall(r"^\s*server\s+([^\s;]+)", m.group(1), flags=re.M)


def upstream_directives(conf: str, name: str) -> list[str]:
    """The non-server directives of upstream NAME (e.g. ip_hash, sticky)."""
    m = re.search(r"^\s*upstream\s+" + re.escape(name) + r"\s*\{(.*?)\}", conf, flags=re.M | re.S)
    if not m:
        return []
    stmts = [s.strip() for s in m.group(1).split(";")]
    return [s.split()[0] for s in stmts if s and not s.startswith("#") and s.split()[0] != "server"]
