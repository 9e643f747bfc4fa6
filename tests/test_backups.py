"""`runbook backups`: backups older than the params' retention are listed,
and deleted only with --prune. Against the lab (real files on a lab host)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from runbook_lib.remote.inventory import hosts_from_params

from .conftest import ROOT

pytestmark = pytest.mark.lab
CONF = "/opt/wso2/worker2/wso2ei-6.1.1/conf/rbtest-backups.txt"


def _backups(*extra: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(Path(sys.executable).parent / "runbook"), "backups", "params/lab.yaml", *extra],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)


def test_old_backups_are_listed_and_pruned_only_on_request(lab, lab_params):
    old = hosts_from_params(lab_params, run_id="20200101T000000Z")["node132"]  # a run long past the retention
    new = hosts_from_params(lab_params)["node132"]
    try:
        old.write_file(CONF, b"one\n")
        old.write_file(CONF, b"two\n")  # backs up "one" as .bak.20200101T000000Z
        new.write_file(CONF, b"three\n")  # a backup of today
        old_bak, new_bak = f"{CONF}.bak.20200101T000000Z", f"{CONF}.bak.{new.run_id}"
        assert old.read_file(old_bak) == b"one\n" and new.read_file(new_bak) == b"two\n"
        listed = _backups()
        assert listed.returncode == 0, listed.stderr
        assert f"node132:{old_bak}" in listed.stdout and new_bak not in listed.stdout
        assert "older than backup_retention_days (30 days)" in listed.stdout and "Nothing deleted" in listed.stdout
        assert new.read_file(old_bak) == b"one\n"  # listing deletes nothing
        pruned = _backups("--prune")
        assert pruned.returncode == 0 and "pruned" in pruned.stdout, pruned.stdout + pruned.stderr
        assert new.read_file(old_bak) is None and new.read_file(new_bak) == b"two\n"  # only the old one
    finally:
        new.run("rm -f %s %s.bak.*", CONF, CONF)
        old.close()
        new.close()
