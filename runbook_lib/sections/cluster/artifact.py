"""08 · What the cluster test deploys on the manager, and how each worker's
share of the requests is read back. The facts per product (the file, the
log line, the HTTP method) are the product spec's ``artifact``
(products.py ``TestArtifact``); here they are written and counted:

- proxy: each request is one log-mediator line `runbook = <marker>` in the
  node's wso2carbon.log (CARBON-RUNTIME.md "Proxy services and the log mediator").
- webapp: each request is one line in the Tomcat access log that
  catalina-server.xml's AccessLogValve names (shipped:
  repository/logs/http_access_<date>.log, pattern combined).
Nothing here depends on whether the node is WSO2 or the lab's stand-in."""

from __future__ import annotations

import posixpath
import shlex
from dataclasses import asdict

from ...configedit import get_values
from ...core.context import Run
from ...params import NodeView
from ...products import TEST_PROXY as PROXY, TEST_WEBAPP as WEBAPP, TestArtifact, spec_for
from .lifecycle import read_log
from . import carbonlog as L

SYNAPSE = "http://ws.apache.org/ns/synapse"
ACCESS_VALVE = "//Valve[@className='org.apache.catalina.valves.AccessLogValve']/@{}"


class Artifact(TestArtifact):
    """The spec's test artifact, with how the runbook writes it and reads it back."""

    def path(self, v: NodeView) -> str:
        return v.path(self.rel_path)

    def content(self, marker: str) -> bytes:
        if self.kind == "webapp":
            return (f"<html><head><title>{WEBAPP}</title></head><body><p>Deployed by the WSO2 Cluster Runbook "
                    "(08_test_cluster) to prove deployment synchronisation and routing.</p></body></html>\n").encode()
        return (f'<?xml version="1.0" encoding="UTF-8"?>\n<proxy xmlns="{SYNAPSE}" name="{PROXY}" '
                'transports="http https" startOnLoad="true">\n  <target>\n    <inSequence>\n'
                f'      <log level="custom">\n        <property name="runbook" value="{marker}"/>\n'
                '      </log>\n      <respond/>\n    </inSequence>\n  </target>\n</proxy>\n').encode()

    def request_path(self, marker: str) -> str:
        return self.url_path.format(marker=marker)

    def body(self) -> bytes | None:
        return b"<runbook-cluster-test/>" if self.method == "POST" else None

    def deployments(self, log_text: str) -> int:
        """Deployments in LOG_TEXT (the undeploy line holds the deployed line's text: not counted)."""
        return L.count(log_text, self.deployed_line) - self.undeployments(log_text)

    def undeployments(self, log_text: str) -> int:
        return L.count(log_text, self.undeployed_line) if self.undeployed_line else 0

    def top(self, v: NodeView) -> str:
        """What removing the artifact removes on V: the proxy's file, the webapp's folder."""
        return posixpath.dirname(self.path(v)) if self.kind == "webapp" else self.path(v)

    def served(self, run: Run, v: NodeView, marker: str, since_start: bool = False) -> int:
        """Requests with MARKER that V has served, from its own evidence."""
        if self.kind == "proxy":
            text = read_log(run, v)
            return L.count(L.latest_run(text) if since_start else text, f"runbook = {marker}")
        h = run.host(v.host_name)
        pattern = access_log_glob(v, h.read_file(v.file("catalina")) or b"")
        if not pattern:
            return 0
        needle = f'"{self.method} {self.request_path(marker)} '
        res = h.run(f"cat {pattern} 2>/dev/null | grep -cF -- {shlex.quote(needle)} || true")
        return int((res.stdout or "0").strip() or 0)


def access_log_glob(v: NodeView, catalina: bytes) -> str:
    """The shell glob of V's Tomcat access logs, from its AccessLogValve ("" when it has none)."""
    if not catalina:
        return ""
    values = {a: get_values(catalina, ACCESS_VALVE.format(a)) for a in ("directory", "prefix", "suffix")}
    if not values["directory"]:
        return ""
    directory = values["directory"][0].replace("${carbon.home}", v.path(v.spec.carbon_home))
    directory = directory if directory.startswith("/") else v.path(directory)
    prefix, suffix = (values["prefix"] or ["access_log."])[0], (values["suffix"] or [""])[0]
    return shlex.quote(posixpath.normpath(directory)) + "/" + shlex.quote(prefix) + "*" + shlex.quote(suffix)


def artifact_for(run: Run) -> Artifact:
    """The cluster's product decides (one product per cluster: params checks)."""
    p = run.params
    return Artifact(**asdict(spec_for(p.product.name, p.product.version).artifact))
