"""The SVN deployment synchronizer (carbon.xml DeploymentSynchronizer), with
the real svn client against the configured SvnUrl: a node with AutoCommit
commits its deployment repository after each deployment cycle and tells the
cluster (SynchronizeRepositoryRequest); a node with AutoCheckout updates on
every cycle and whenever such a request arrives. Log lines as in
CARBON-RUNTIME.md "Deployment synchronizer"."""

from __future__ import annotations

import subprocess
import threading
import uuid
from pathlib import Path

DS = "org.wso2.carbon.deployment.synchronizer.internal.DeploymentSynchronizer"
SVN = "org.wso2.carbon.deployment.synchronizer.subversion.SVNBasedArtifactRepository"
REQ = "org.wso2.carbon.core.deployment.SynchronizeRepositoryRequest"


class SvnSynchronizer:
    def __init__(self, node, settings: dict[str, str]):
        self.node = node
        self.repo = node.carbon_home / "repository" / "deployment" / "server"
        url = settings.get("SvnUrl", "").rstrip("/")
        if settings.get("SvnUrlAppendTenantId", "true").lower() == "true":
            url += "/-1234"
        self.url = url
        self.user = settings.get("SvnUser", "")
        self.password = settings.get("SvnPassword", "")
        self.auto_commit = settings.get("AutoCommit", "false").lower() == "true"
        self.auto_checkout = settings.get("AutoCheckout", "false").lower() == "true"
        self._lock = threading.Lock()
        self._pending = threading.Event()

    def svn(self, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
        cmd = ["svn", *args, "--non-interactive", "--no-auth-cache", "--trust-server-cert"]
        if self.user:
            cmd += ["--username", self.user, "--password-from-stdin"]
        return subprocess.run(cmd, input=self.password + "\n" if self.user else None, capture_output=True,
                              text=True, cwd=cwd, timeout=60)

    def start(self) -> None:
        log = self.node.log
        log.info(DS, f"Starting a synchronizer on file system at: {self.repo}")
        log.info(DS, "Started initial artifact synchronization for tenant: -1234")
        with self._lock:
            if self.auto_commit and self.svn("info", self.url).returncode != 0:
                self.svn("mkdir", "--parents", "-m", "Deployment synchronizer: tenant -1234", self.url)
            if not (self.repo / ".svn").is_dir():
                log.info(SVN, "Checking out artifacts...")
                res = self.svn("checkout", "--force", self.url, str(self.repo))
                if res.returncode != 0:
                    log.error(SVN, f"Error while attempting to create the directory: {self.url} "
                                   f"({res.stderr.strip().splitlines()[-1] if res.stderr.strip() else 'svn failed'})")
                    return
            if self.auto_commit:
                self._commit()
        log.info(DS, "Completed initial artifact synchronization for tenant: -1234")

    def on_message(self, payload: dict) -> None:
        if payload.get("type") != "SynchronizeRepositoryRequest" or not self.auto_checkout:
            return
        self.node.log.info(REQ, f"Received [SynchronizeRepositoryRequest{{tenantId=-1234, tenantDomain='carbon.super', "
                                f"messageId={payload.get('messageId')}}}] ")
        self.update()

    def update(self) -> None:
        if not self.auto_checkout or not (self.repo / ".svn").is_dir():
            return
        with self._lock:
            res = self.svn("update", "--force", "--accept", "theirs-full", str(self.repo))
            if res.returncode != 0 and "out of date" in res.stderr:
                self.node.log.info(SVN, "Working copy is out of date. Forcing a svn update. Tenant: -1234")
            elif res.returncode != 0 and "onflict" in res.stderr:
                self.node.log.error(SVN, f"SVN conflict encountered at: {self.repo}")

    def after_deployment(self) -> None:
        """After a deployment cycle: commit what changed (AutoCommit)."""
        if self.auto_commit and (self.repo / ".svn").is_dir():
            with self._lock:
                self._commit()

    def _commit(self) -> None:
        st = self.svn("status", str(self.repo))
        if st.returncode != 0 or not st.stdout.strip():
            return
        self.node.log.info(SVN, "Committing artifacts...")
        self.svn("add", "--force", "--parents", ".", cwd=self.repo)
        for line in self.svn("status", str(self.repo)).stdout.splitlines():
            if line.startswith("!"):
                self.svn("delete", "--force", line[8:].strip())
        res = self.svn("commit", "-m", "Committed by the deployment synchronizer", str(self.repo))
        if res.returncode != 0:
            if "out of date" in res.stderr:
                self.node.log.info(SVN, "Working copy is out of date. Forcing a svn update. Tenant: -1234")
                self.svn("update", str(self.repo))
            else:
                self.node.log.error(SVN, f"Error while committing artifacts: {res.stderr.strip()[-300:]}")
            return
        if self.node.membership is not None:
            self.node.membership.broadcast({"type": "SynchronizeRepositoryRequest", "messageId": str(uuid.uuid4())})
