"""Shared fixtures. Lab fixtures bring the real lab up once per session."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
UPSTREAM = SHARED / "wso2-upstream"


@pytest.fixture(scope="session")
def upstream() -> Path:
    """The real WSO2 files, read in place from ../shared (never copied)."""
    if not UPSTREAM.is_dir():
        pytest.fail(f"{UPSTREAM} is missing: tests need ../shared beside the repo")
    return UPSTREAM


@pytest.fixture(scope="module")
def lab_mysql(request) -> dict:
    """Admin connection settings for a real MariaDB: host, port, user, password.

    RUNBOOK_TEST_MYSQL=host:port:user:password points at a server you run
    yourself; otherwise the lab's database host is used (see lab fixtures).
    """
    env = os.environ.get("RUNBOOK_TEST_MYSQL")
    if env:
        host, port, user, password = env.split(":", 3)
        return {"host": host, "port": int(port), "user": user, "password": password}
    _need_root()
    lab_params = request.getfixturevalue("lab_params")
    secrets = request.getfixturevalue("lab_secrets")
    db = lab_params.database
    return {"host": str(lab_params.hosts[db.host].address), "port": db.port, "user": db.admin_user,
            "password": secrets[db.admin_password.secret]}


PARAMS_LAB = ROOT / "params" / "lab.yaml"


_SHARED: bool | None = None


def shared_lab() -> bool:
    """Reuse a lab that is already up, and leave it up (development, several
    engineers on one lab), unless RUNBOOK_FRESH_LAB=1 (`make test`, CI).
    Tests that rebuild the lab skip themselves in shared mode."""
    global _SHARED
    if _SHARED is None:
        if os.environ.get("RUNBOOK_FRESH_LAB") == "1":
            _SHARED = False
        elif os.environ.get("RUNBOOK_SHARED_LAB") == "1":
            _SHARED = True
        elif os.geteuid() != 0:
            _SHARED = False
        else:
            from runbook_lib.lab import control as labmod
            from runbook_lib.params import load_params
            _SHARED = bool(labmod.status(load_params(PARAMS_LAB))["healthy"])
    return _SHARED


def skip_if_shared() -> None:
    if shared_lab():
        pytest.skip("rebuilds the lab: runs only on a lab of its own (RUNBOOK_FRESH_LAB=1, as `make test` sets)")


def _need_root() -> None:
    if os.geteuid() != 0:
        pytest.skip("the lab needs root (network namespaces)")


@pytest.fixture(scope="session")
def lab_params():
    from runbook_lib.params import load_params
    return load_params(PARAMS_LAB)


@pytest.fixture(scope="session")
def lab(lab_params):
    """The real lab from params/lab.yaml, up for the whole session, down at
    the end. Yields `runbook lab status --json` as a dict."""
    _need_root()
    from runbook_lib.lab import control as labmod, health
    if shared_lab():
        # Development: use the lab that is already up, and leave it up.
        st = labmod.status(lab_params)
        if not st["healthy"]:
            pytest.fail("shared lab mode but the lab is not healthy: run `.venv/bin/runbook lab up`")
        yield st
        return
    labmod.down(lab_params, log=lambda *_: None)
    labmod.up(lab_params, PARAMS_LAB, log=lambda *_: None)
    st = labmod.status(lab_params)
    assert st["healthy"], health.format_status(st)
    yield st
    labmod.down(lab_params, log=lambda *_: None)


@pytest.fixture(scope="module")
def lab_secrets(lab):
    """Read afresh for each test module: a test that rebuilds the lab makes new secrets."""
    from runbook_lib.params.secrets import read_secrets_file
    return read_secrets_file(lab["secrets_file"])


@pytest.fixture(scope="session")
def lab_hosts(lab, lab_params):
    from runbook_lib.remote.inventory import hosts_from_params
    hosts = hosts_from_params(lab_params)
    yield hosts
    for h in hosts.values():
        h.close()


LAB_FIXTURES = {"lab", "lab_mysql", "lab_hosts", "lab_secrets"}


def pytest_collection_modifyitems(items: list) -> None:
    """A test that uses a lab fixture is a lab test, marked or not, so that
    `-m "not lab"` never brings a lab up (or reuses someone else's)."""
    for item in items:
        if LAB_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.lab)
