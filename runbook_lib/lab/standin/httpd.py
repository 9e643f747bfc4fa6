"""The node's HTTP ports: the servlet transport (9763/9443 + Offset: the
management console at /carbon/) and the PassThrough transport (8280/8243 +
Offset: `GET /services` and the deployed proxies), as CARBON-RUNTIME.md
"Management console and workers" and "Proxy services" describe.

HTTPS uses a self-signed certificate the stand-in makes with openssl when
it starts (the home's keystore is a JKS the stand-in cannot read); clients
that check certificates must not trust it, exactly as with a fresh Carbon."""

from __future__ import annotations

import html
import shutil
import socket
import ssl
import subprocess
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Callable
from urllib.parse import parse_qs

from .webapps import combined_line

Response = tuple[int, dict[str, str], bytes]
Route = Callable[["Request"], Response]

WORKER_FORBIDDEN = "Invoking admin services on worker node is forbidden..."


class Request:
    def __init__(self, h: BaseHTTPRequestHandler, scheme: str):
        self.method = h.command
        self.path = h.path
        self.headers = h.headers
        self.scheme = scheme
        n = int(h.headers.get("Content-Length") or 0)
        self.body = h.rfile.read(n) if n else b""
        self.client = h.client_address[0]
        self.version = h.request_version

    @property
    def host(self) -> str:
        return (self.headers.get("Host") or "").rsplit(":", 1)[0] if "]" not in (self.headers.get("Host") or "") \
            else self.headers.get("Host", "")


def make_ssl_context(common_name: str) -> ssl.SSLContext:
    """A self-signed certificate for COMMON_NAME, made now, kept only in memory.
    Its key is EC P-256, made in milliseconds (an RSA 2048 key took 0.1-0.5 s
    of CPU at every start); the product serves its keystore's RSA key instead,
    which the stand-in does not reproduce (SOURCES.md V7)."""
    d = Path(tempfile.mkdtemp(prefix="standin-tls-"))
    try:
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                        "-nodes", "-days", "30",
                        "-subj", f"/CN={common_name}/O=WSO2 Cluster Runbook lab stand-in",
                        "-keyout", str(d / "key.pem"), "-out", str(d / "cert.pem")],
                       check=True, capture_output=True)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(d / "cert.pem", d / "key.pem")
        return ctx
    finally:
        shutil.rmtree(d, ignore_errors=True)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    tls: ssl.SSLContext | None = None

    def finish_request(self, request, client_address):
        if self.tls is not None:
            try:
                request.settimeout(10)
                request = self.tls.wrap_socket(request, server_side=True)
            except (OSError, ssl.SSLError):
                return
        super().finish_request(request, client_address)


def serve(sock: socket.socket, route: Route, scheme: str, tls: ssl.SSLContext | None = None) -> _Server:
    """Serve ROUTE on an already bound and listening socket, in a thread."""

    class Handler(BaseHTTPRequestHandler):
        server_version = "WSO2 Carbon Server"
        protocol_version = "HTTP/1.1"

        def _handle(self):
            try:
                answer = route(Request(self, scheme))
                if answer is None:  # no response at all (a proxy that neither responds nor sends)
                    self.close_connection = True
                    return
                status, headers, body = answer
            except Exception as e:  # a bug in the stand-in must not kill the port
                status, headers, body = 500, {"Content-Type": "text/plain"}, f"[stand-in] error: {e}\n".encode()
            self.send_response(status)
            for k, v in headers.items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        do_GET = do_POST = do_HEAD = do_PUT = do_DELETE = _handle

        def log_message(self, *args):  # Carbon writes no access lines in wso2carbon.log
            pass

    srv = _Server(sock.getsockname()[:2], Handler, bind_and_activate=False)
    srv.socket.close()
    srv.socket = sock
    srv.tls = tls
    # A request wakes the loop at once; the poll interval only paces its checks for
    # shutdown(), which nothing calls (the node closes its sockets and exits): the
    # default 0.5 s woke each idle server twice a second for nothing (issue 23).
    threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 30.0}, name=f"http-{sock.getsockname()[1]}",
                     daemon=True).start()
    return srv


def with_access_log(route: Route, log) -> Route:
    """Tomcat's AccessLogValve (catalina-server.xml): one combined line per
    request on the servlet transport (LOG: a webapps.AccessLog, or None)."""
    if log is None:
        return route
    lock = threading.Lock()

    def logged(req: Request) -> Response:
        status, headers, body = route(req)
        now = __import__("time").time()
        line = combined_line(req.client, req.method, req.path, req.version, status, len(body), req.headers, now)
        with lock:
            path = log.path(now)
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(path, "a", encoding="utf-8") as f:
                f.write(line)
        return status, headers, body

    return logged


def html_page(title: str, body: str) -> bytes:
    return f"<html><head><title>{html.escape(title)}</title></head><body>{body}</body></html>".encode()


LOGIN_PAGE = """<h2>WSO2 Management Console</h2>
<form action="../admin/login_action.jsp" method="POST" id="loginForm">
<label for="txtUserName">Username</label><input type="text" id="txtUserName" name="username"/>
<label for="txtPassword">Password</label><input type="password" id="txtPassword" name="password"/>
<input type="submit" value="Sign-in"/></form>"""


def console_route(node) -> Route:
    """The servlet transport: the management console (or, on an ESB/AS worker
    profile, none) and the broker's pages registered with node.add_console_page."""

    def redirect(req: Request, path: str) -> Response:
        host = req.headers.get("Host") or node.address
        return 302, {"Location": f"{req.scheme}://{host}{path}"}, b""

    def route(req: Request) -> Response:
        path = req.path.split("?", 1)[0]
        webapp = node.webapps.serve(path) if node.webapps is not None else None
        if webapp is not None:
            return webapp
        if path.startswith("/services/") and node.worker_profile:
            node.log.warn("org.wso2.carbon.core.services.authentication.AuthenticationAdmin", WORKER_FORBIDDEN)
            return 403, {"Content-Type": "text/plain"}, b"Forbidden\n"
        if not (path == "/carbon" or path.startswith("/carbon/")) or node.worker_profile:
            return 404, {"Content-Type": "text/html"}, html_page("404", "<h1>HTTP Status 404</h1>")
        if req.scheme == "http":  # the console's security constraint sends http to https
            port = node.ports.get("servlet_https_proxy") or node.ports["servlet_https"]
            host = (req.headers.get("Host") or node.address).rsplit(":", 1)[0]
            return 302, {"Location": f"https://{host}:{port}{req.path}"}, b""
        if path in node.console_pages:  # a console page needs a logged-in session, as every Carbon JSP
            if "JSESSIONID=standin" not in (req.headers.get("Cookie") or ""):
                return redirect(req, "/carbon/admin/login.jsp")
            return node.console_pages[path](req)
        if path in ("/carbon", "/carbon/", "/carbon/admin/index.jsp") and "loginStatus=true" not in req.path \
                and "JSESSIONID=standin" not in (req.headers.get("Cookie") or ""):
            return redirect(req, "/carbon/admin/login.jsp")
        if path == "/carbon/admin/login.jsp":
            return 200, {"Content-Type": "text/html;charset=UTF-8"}, html_page("WSO2 Management Console", LOGIN_PAGE)
        if path == "/carbon/admin/login_action.jsp" and req.method == "POST":
            form = {k: v[0] for k, v in parse_qs(req.body.decode("utf-8", "replace")).items()}
            if (form.get("username"), form.get("password")) == node.admin:
                node.log.info("org.wso2.carbon.core.services.util.CarbonAuthenticationUtil",
                              f"'{form['username']}@carbon.super [-1234]' logged in at "
                              f"[{__import__('time').strftime('%Y-%m-%d %H:%M:%S')}] from IP address {req.client}")
                return 302, {"Location": "../admin/index.jsp?loginStatus=true",
                             "Set-Cookie": "JSESSIONID=standin; Path=/; Secure; HttpOnly"}, b""
            node.log.warn("org.wso2.carbon.core.services.util.CarbonAuthenticationUtil",
                          f"Failed Administrator login attempt '{form.get('username', '')}[-1234]' at "
                          f"[{__import__('time').strftime('%Y-%m-%d %H:%M:%S')}] from IP address {req.client}")
            return 302, {"Location": "login.jsp?loginStatus=false"}, b""
        if path == "/carbon/admin/index.jsp":
            return 200, {"Content-Type": "text/html;charset=UTF-8"}, html_page(
                "WSO2 Management Console", f"<h2>WSO2 Management Console</h2><p>{html.escape(node.server_name)}</p>")
        return 404, {"Content-Type": "text/html"}, html_page("404", "<h1>HTTP Status 404</h1>")

    return route


def passthrough_route(node) -> Route:
    """The PassThrough transport: `GET /services` lists the deployed proxies;
    /services/NAME runs one."""

    def route(req: Request) -> Response:
        path = req.path.split("?", 1)[0].rstrip("/")
        if path == "/services" and req.method in ("GET", "HEAD"):
            names = node.deployer.names()
            if not names:
                body = "<h2>There are no services deployed</h2>"
            else:
                body = "<h2>Deployed services</h2>" + "".join(
                    f"<h3><a href=\"/services/{html.escape(n)}?wsdl\">{html.escape(n)}</a></h3>" for n in names)
            return 200, {"Content-Type": "text/html"}, html_page("Axis2: Services", body)
        if path.startswith("/services/"):
            name = path[len("/services/"):].split("/", 1)[0].split(".", 1)[0]
            return node.deployer.invoke(name, req)
        return 404, {"Content-Type": "text/html"}, html_page("404", "<h1>404 Not Found</h1>")

    return route
