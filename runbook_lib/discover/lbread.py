"""Reading the load balancer: nginx's virtual hosts (002/004), each value with
its file and line. A small reader of the directives the documents write
(upstream, server, listen, server_name, ip_hash/sticky, proxy_pass), enough to
say which ports and names the cluster is served on and with what affinity."""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field

from ..remote.host import Host
from ..remote.probe import quote
from .found import Found, Problem

CONF_DIRS = ("/etc/nginx/conf.d", "/etc/nginx/sites-enabled")


@dataclass
class Upstream:
    name: str
    servers: list[Found] = field(default_factory=list)
    affinity: Found | None = None


@dataclass
class Server:
    file: str
    line: int
    listen: list[Found] = field(default_factory=list)  # "443 ssl"
    server_name: Found | None = None
    proxy_pass: Found | None = None
    certificate: Found | None = None

    @property
    def port(self) -> int | None:
        for f in self.listen:
            m = re.match(r"(?:[\d.]+:)?(\d+)", f.value)
            if m:
                return int(m.group(1))
        return None

    @property
    def tls(self) -> bool:
        return any(" ssl" in f" {x.value}" for x in self.listen)


@dataclass
class Nginx:
    conf_dir: str = ""
    upstreams: dict[str, Upstream] = field(default_factory=dict)
    servers: list[Server] = field(default_factory=list)


def parse(host: str, path: str, text: str, out: Nginx) -> None:
    """Directives by brace depth: `upstream NAME {` and `server {` blocks."""
    stack: list[tuple[str, object]] = []
    for no, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        m = re.match(r"upstream\s+(\S+)\s*\{", line)
        if m:
            up = out.upstreams.setdefault(m.group(1), Upstream(m.group(1)))
            stack.append(("upstream", up))
            continue
        if re.match(r"server\s*\{", line):
            srv = Server(path, no)
            out.servers.append(srv)
            stack.append(("server", srv))
            continue
        if line.endswith("{"):
            stack.append(("other", None))
            continue
        if line.startswith("}"):
            if stack:
                stack.pop()
            continue
        kind, obj = stack[-1] if stack else ("", None)
        here = lambda v: Found(v, host, path, no)  # noqa: E731
        words = line.rstrip(";").split(None, 1)
        key, val = words[0], (words[1] if len(words) > 1 else "")
        if kind == "upstream" and isinstance(obj, Upstream):
            if key == "server":
                obj.servers.append(here(val.split()[0]))
            elif key in ("ip_hash", "sticky"):
                obj.affinity = here(key)
        elif isinstance(obj, Server) or any(isinstance(o, Server) for _, o in stack):
            srv = obj if isinstance(obj, Server) else next(o for _, o in reversed(stack) if isinstance(o, Server))
            if key == "listen":
                srv.listen.append(here(val))
            elif key == "server_name":
                srv.server_name = here(val.split()[0])
            elif key == "proxy_pass":
                srv.proxy_pass = here(val)
            elif key == "ssl_certificate":
                srv.certificate = here(val)


def read_nginx(h: Host, host: str, problems: list[Problem]) -> Nginx | None:
    """Every *.conf (and sites-enabled file) nginx includes from its usual folders."""
    out = Nginx()
    for d in CONF_DIRS:
        res = h.run(quote("ls -1 %s 2>/dev/null", d))
        names = [n for n in res.stdout.split() if n and not n.startswith(".")]
        for n in names:
            if d.endswith("conf.d") and not n.endswith(".conf"):
                continue
            path = posixpath.join(d, n)
            try:
                data = h.read_file(path)
            except Exception as e:  # noqa: BLE001 - reported by name, the others still read
                problems.append(Problem(f"{host}:{path}", f"cannot be read ({e})", "make it readable"))
                continue
            if data is not None:
                out.conf_dir = out.conf_dir or d
                parse(host, path, data.decode(errors="replace"), out)
    return out if out.servers else None


def upstream_of(n: Nginx, srv: Server) -> Upstream | None:
    if not srv.proxy_pass:
        return None
    m = re.match(r"https?://([^/;]+)", srv.proxy_pass.value)
    return n.upstreams.get(m.group(1)) if m else None
