"""Shared fixtures. Lab fixtures bring the real lab up once per session."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Iterator

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
            from runbook_lib import lab as labmod
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
    from runbook_lib import lab as labmod
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
    assert st["healthy"], labmod.format_status(st)
    yield st
    labmod.down(lab_params, log=lambda *_: None)


@pytest.fixture(scope="module")
def lab_secrets(lab):
    """Read afresh for each test module: a test that rebuilds the lab makes new secrets."""
    from runbook_lib.params.secrets import read_secrets_file
    return read_secrets_file(lab["secrets_file"])


@pytest.fixture(scope="session")
def lab_hosts(lab, lab_params):
    from runbook_lib.inventory import hosts_from_params
    hosts = hosts_from_params(lab_params)
    yield hosts
    for h in hosts.values():
        h.close()


# --- lab instances (README "Lab instances") ------------------------------------
# Lab tests run on this process's lab instance: RUNBOOK_LAB_INSTANCE when
# given, else under pytest-xdist one instance per worker, else the default
# lab. Unit tests always see params as written (no instance). An instance
# this session allocated is taken down and released when the session ends.

_INSTANCE: str | None = None  # this process's instance for lab tests ('' = default)
_ALLOCATED = False


def lab_instance() -> str:
    global _INSTANCE
    if _INSTANCE is None:
        from runbook_lib.params.instance import ENV, check_name
        worker = os.environ.get("PYTEST_XDIST_WORKER", "")  # gw0, gw1, ...
        # unique to this session (the controller's pid) and worker: at most 7 characters
        _INSTANCE = check_name(os.environ.get(ENV) or (f"t{os.getppid() % 10000:04}{worker[2:]}" if worker else ""),
                               ENV)
    return _INSTANCE


def _ensure_instance() -> None:
    """Give this process's named instance a subnet before any lab test loads params."""
    global _ALLOCATED
    name = lab_instance()
    if not name or os.geteuid() != 0:
        return
    from runbook_lib.params.instance import read_record
    if read_record(name) is None:
        from runbook_lib.lab import allocate
        from runbook_lib.params.load import read_raw
        allocate(name, read_raw(PARAMS_LAB), str(PARAMS_LAB))
        _ALLOCATED = True


@contextlib.contextmanager
def _instance_env(item, teardown: bool = False) -> Iterator[None]:
    """A lab test (and its fixtures' set-up) runs with this process's
    instance in the environment; any other test without one. Every tear-down
    runs with the instance: a lab fixture may be torn down after a unit test
    (the last of its module or session), and must then take down its own
    instance, never the default lab."""
    from runbook_lib.params.instance import ENV
    name = lab_instance() if teardown or item.get_closest_marker("lab") else ""
    if name:
        _ensure_instance()
    before = os.environ.get(ENV)
    if name:
        os.environ[ENV] = name
    else:
        os.environ.pop(ENV, None)
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(ENV, None)
        else:
            os.environ[ENV] = before


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_setup(item):
    with _instance_env(item):
        yield


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item):
    with _instance_env(item):
        yield


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item, nextitem):
    with _instance_env(item, teardown=True):
        yield


def pytest_sessionfinish(session) -> None:
    """Take down and release the instance this session allocated (after the
    session fixtures' own tear-down)."""
    if _ALLOCATED:
        from runbook_lib import lab as labmod
        from runbook_lib.params.instance import ENV
        os.environ[ENV] = lab_instance()
        try:
            labmod.down(log=lambda *_: None, release=True)
        finally:
            os.environ.pop(ENV, None)


LAB_FIXTURES = {"lab", "lab_mysql", "lab_hosts", "lab_secrets"}


def pytest_collection_modifyitems(items: list) -> None:
    """A test that uses a lab fixture is a lab test, marked or not, so that
    `-m "not lab"` never brings a lab up (or reuses someone else's)."""
    for item in items:
        if LAB_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.lab)
