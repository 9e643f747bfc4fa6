"""`runbook rollback` leaves no file of the run behind (issue 18 item 9): files made by commands
(a driver jar, keys and certificates, 08's test artifact) are recorded and removed or restored,
a folder the run created is removed once empty, and the SVN repository the run created is
listed, never deleted. No lab: a local "host" whose commands run on this machine under tmp_path."""

from __future__ import annotations

import shlex
import subprocess
from pathlib import Path

from runbook_lib.run import changelog
from runbook_lib.run.rollback import rollback


class LocalHost:
    """The Host calls rollback and the changelog make, run here (paths under tmp_path)."""

    name, run_id = "node1", "RUN1"

    def run(self, cmd: str, *args: str, sudo: bool = False, stdin: bytes | None = None):
        res = subprocess.run(cmd % tuple(shlex.quote(a) for a in args) if args else cmd, shell=True,
                             capture_output=True, text=True)
        res.ok, res.rc = res.returncode == 0, res.returncode  # type: ignore[attr-defined]
        return res

    def check(self, cmd: str, *args: str, sudo: bool = False, stdin: bytes | None = None):
        res = self.run(cmd, *args)
        assert res.ok, res.stderr
        return res

    def read_file(self, path: str, sudo: bool = False) -> bytes | None:
        p = Path(path)
        return p.read_bytes() if p.is_file() else None


def test_rollback_removes_what_commands_made_and_lists_the_repository(tmp_path, monkeypatch):
    run_dir = tmp_path / "runs" / "RUN1"
    run_dir.mkdir(parents=True)
    monkeypatch.setenv("RUNBOOK_CHANGES", str(run_dir / "changes.jsonl"))
    h, nodes = LocalHost(), tmp_path / "node"
    # 08's webapp: the folder, then its file (record_copy's order); a replaced jar with its backup; a repository.
    app = nodes / "webapps" / "runbook-cluster-test"
    changelog.record_made(h, str(app), kind="dir")
    app.mkdir(parents=True)
    (app / "index.html").write_text("<p>test</p>")
    changelog.record_remote(h, str(app / "index.html"), existed=False, backup=None)
    jar = nodes / "lib" / "mariadb-java-client.jar"
    jar.parent.mkdir(parents=True)
    jar.write_bytes(b"old jar")
    (nodes / "lib" / "mariadb-java-client.jar.bak.RUN1").write_bytes(b"old jar")
    jar.write_bytes(b"new jar")
    changelog.record_remote(h, str(jar), existed=True, backup=str(jar) + ".bak.RUN1")
    repo = tmp_path / "svn" / "wso2"
    repo.mkdir(parents=True)
    (repo / "format").write_text("5\n")
    changelog.record_made(h, str(repo), kind="listed", sudo=True)

    dry = rollback(run_dir, {"node1": h}, dry_run=True)  # type: ignore[dict-item]
    assert [(f.action, Path(f.path).name) for f in dry.files] == [
        ("restore", "mariadb-java-client.jar"), ("remove", "index.html"), ("remove", "runbook-cluster-test")]
    assert app.is_dir() and jar.read_bytes() == b"new jar"  # a dry run changes nothing
    report = rollback(run_dir, {"node1": h})  # type: ignore[dict-item]
    assert report.ok and all(f.done for f in report.files), report.text()
    assert not app.exists() and jar.read_bytes() == b"old jar"
    assert repo.is_dir() and report.listed_items == [f"node1:{repo}"]
    assert f"NOT removed" in report.text() and f"node1:{repo}" in report.text()
    again = rollback(run_dir, {"node1": h})  # type: ignore[dict-item]
    assert {f.action for f in again.files} == {"unchanged"}


def test_a_folder_holding_files_the_run_did_not_make_is_kept(tmp_path, monkeypatch):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    monkeypatch.setenv("RUNBOOK_CHANGES", str(run_dir / "changes.jsonl"))
    h, ssl = LocalHost(), tmp_path / "ssl"
    changelog.record_made(h, str(ssl), kind="dir")
    ssl.mkdir()
    (ssl / "someone-elses.crt").write_text("x")
    report = rollback(run_dir, {"node1": h})  # type: ignore[dict-item]
    assert [f.action for f in report.files] == ["refused"] and "someone-elses.crt" in report.files[0].reason
    assert (ssl / "someone-elses.crt").exists() and not report.ok
