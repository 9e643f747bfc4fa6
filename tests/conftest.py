"""Shared fixtures. Lab fixtures bring the real lab up once per session."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
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
_OTHER_LAB_RAN = False  # a module with labs of its own ran in this process since the session lab was made


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
            from runbook_lib.lab import api as labmod
            from runbook_lib.params import load_params
            _SHARED = bool(labmod.status(load_params(PARAMS_LAB))["healthy"])
    return _SHARED


def skip_if_shared() -> None:
    if shared_lab():
        pytest.skip("rebuilds the lab: runs only on a lab of its own (RUNBOOK_FRESH_LAB=1, as `make test` sets)")


def _need_root() -> None:
    if os.geteuid() != 0:
        pytest.skip("the lab needs root (network namespaces)")


def cmdline(pid: int) -> str:
    """PID and its command line, for a failure that names a process left running."""
    try:
        return f"{pid} " + Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return f"{pid} (gone)"


@pytest.fixture(scope="session")
def lab_params():
    from runbook_lib.params import load_params
    return load_params(PARAMS_LAB)


@pytest.fixture(scope="session")
def _lab_session(lab_params):
    """The real lab from params/lab.yaml, brought up fresh once per session
    (per test process) and taken down at the end."""
    _need_root()
    from runbook_lib.lab import api as labmod, health
    if shared_lab():
        # Development: use the lab that is already up, and leave it up.
        st = labmod.status(lab_params)
        if not st["healthy"]:
            pytest.fail("shared lab mode but the lab is not healthy: run `.venv/bin/runbook lab up`")
        yield st
        return
    global _OTHER_LAB_RAN
    labmod.down(lab_params, log=lambda *_: None)
    labmod.up(lab_params, PARAMS_LAB, log=lambda *_: None)
    _OTHER_LAB_RAN = False
    st = labmod.status(lab_params)
    assert st["healthy"], health.format_status(st)
    yield st
    labmod.down(lab_params, log=lambda *_: None)


@pytest.fixture(scope="module")
def lab(_lab_session, lab_params, request):
    """The lab from params/lab.yaml for this module, as `runbook lab status
    --json` shows it. When tests run side by side, this process may have run
    a module with labs of its own on its instance since the session's lab came
    up: then the session's modules get a fresh lab, as in one process they
    would (and any module a lab built from params/lab.yaml)."""
    global _OTHER_LAB_RAN
    from runbook_lib.lab import api as labmod
    if shared_lab():
        return _lab_session
    if _OTHER_LAB_RAN and request.path.name in SESSION_LAB:
        labmod.down(lab_params, log=lambda *_: None)
        _OTHER_LAB_RAN = False
    st = labmod.status(lab_params, PARAMS_LAB)
    if not st["healthy"]:
        labmod.up(lab_params, PARAMS_LAB, log=lambda *_: None)
        st = labmod.status(lab_params, PARAMS_LAB)
        assert st["healthy"], labmod.format_status(st)
    return st


@pytest.fixture(scope="module")
def lab_secrets(lab):
    """Read afresh for each test module: a test that rebuilds the lab makes new secrets."""
    from runbook_lib.params.secrets import read_secrets_file
    return read_secrets_file(lab["secrets_file"])


@pytest.fixture(scope="module")
def lab_hosts(lab, lab_params):
    from runbook_lib.remote.inventory import hosts_from_params
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
_STORE_CACHE: Path | None = None  # the session's keystore folder, when this process made it


_WORKER = ""  # this process's pytest-xdist worker id (gw0, gw1...), '' when not one


def pytest_configure(config) -> None:
    global _WORKER
    # A pytest started by a test (nbval) inherits PYTEST_XDIST_WORKER but is no worker.
    _WORKER = getattr(config, "workerinput", {}).get("workerid", "")
    lab_instance()  # fixed now, before any test changes the environment
    _store_cache()


def _store_cache() -> None:
    """The lab's keystores made once per session (lab/hostfs.py STORE_CACHE_ENV):
    a folder of this session's own, made before the test processes start (they
    inherit it) and removed at its end by the process that made it."""
    global _STORE_CACHE
    from runbook_lib.lab.hostfs import STORE_CACHE_ENV
    if os.environ.get(STORE_CACHE_ENV):
        return  # a worker, or a pytest a test started: the session's folder
    _STORE_CACHE = Path(tempfile.mkdtemp(prefix="rblab-stores-"))
    (_STORE_CACHE / "salt").write_bytes(os.urandom(32))
    os.environ[STORE_CACHE_ENV] = str(_STORE_CACHE)


def lab_instance() -> str:
    global _INSTANCE
    if _INSTANCE is None:
        from runbook_lib.params.instance import ENV, check_name
        worker = _WORKER
        # unique to this session (the controller's pid) and worker: at most 7 characters
        name = os.environ.get(ENV, "")
        if worker:  # one per worker: NAME0, NAME1... (by default t<controller pid><n>: this session's own)
            base = name or f"t{os.getppid() % 10000:04}"
            name = base[: 7 - len(worker[2:])] + worker[2:]
        _INSTANCE = check_name(name, ENV) if name else ""
    return _INSTANCE


def _ensure_instance() -> None:
    """Give this process's named instance a subnet before any lab test loads params."""
    global _ALLOCATED
    name = lab_instance()
    if not name or os.geteuid() != 0:
        return
    from runbook_lib.params.instance import read_record
    if read_record(name) is None:
        from runbook_lib.lab.instance import allocate
        from runbook_lib.params.load import read_raw
        allocate(name, read_raw(PARAMS_LAB), str(PARAMS_LAB))
        _ALLOCATED = True


def lab_ip(value):
    """VALUE (an address, pattern or text written with params/lab.yaml's
    198.51.100.x addresses) as the lab instance of the running test has it."""
    from runbook_lib.params.instance import as_instance
    from runbook_lib.params.load import read_raw
    return as_instance(value, read_raw(PARAMS_LAB), str(PARAMS_LAB))


@contextlib.contextmanager
def _instance_env(item, teardown: bool = False) -> Iterator[None]:
    """A lab test (and its fixtures' set-up) runs with this process's
    instance in the environment; any other test without one. Every tear-down
    runs with the instance: a lab fixture may be torn down after a unit test
    (the last of its module or session), and must then take down its own
    instance, never the default lab."""
    global _OTHER_LAB_RAN
    from runbook_lib.params.instance import ENV
    lab_item = item.get_closest_marker("lab") or item.path.suffix == ".ipynb"  # nbval replays on a lab
    name = lab_instance() if teardown or lab_item else ""
    if name and _WORKER and item.path.name in OWN_LAB:
        _OTHER_LAB_RAN = True
    if name and not teardown:  # a tear-down only takes down what a set-up allocated
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


def pytest_unconfigure(config) -> None:
    if _STORE_CACHE is not None:
        shutil.rmtree(_STORE_CACHE, ignore_errors=True)


def pytest_sessionfinish(session) -> None:
    """Take down and release the instance this session allocated (after the
    session fixtures' own tear-down)."""
    if _ALLOCATED:
        from runbook_lib.lab import api as labmod
        from runbook_lib.params.instance import ENV
        os.environ[ENV] = lab_instance()
        try:
            labmod.down(log=lambda *_: None, release=True)
        finally:
            os.environ.pop(ENV, None)


LAB_FIXTURES = {"lab", "lab_mysql", "lab_hosts", "lab_secrets"}


# --- running side by side (make test: pytest -n 8 --dist loadgroup) ------------
# Each test process has its own lab instance. Tests are handed out in groups;
# a group runs in one process, in file order, and groups are handed out in
# the order below (longest first, as measured on a 6-process run: a long group
# handed out last would run alone at the end), unit tests last, one by one.
# OWN_LAB: modules that bring up labs of their own, a group each (GROUPS: one
# per parametrised case). SESSION_LAB: the modules that use the session's lab
# from params/lab.yaml (the `lab` fixtures): one group, as some build on what
# earlier ones left. A module using the lab fixtures must be in one of them
# (collection says so otherwise).
SESSION_LAB = ["test_backups.py", "test_db.py", "test_host.py", "test_lab.py", "test_preflight.py",
               "test_section_certificates.py", "test_section_databases.py", "test_section_load_balancer.py",
               "test_section_manager.py", "test_section_registry.py", "test_section_workers.py",
               "test_skeletons.py", "test_zc_concurrency.py", "test_zw_cluster_test.py",
               "test_clock_skew_lab.py", "test_section_driver_scheme.py"]
OWN_LAB = ["test_zx_discover.py", "test_zx_securevault.py", "test_zw_rolling.py", "test_zy_runbook.py",
           "test_zx_docgaps2.py", "test_faults.py", "test_zz_jlab_apply.py", "test_zx_layouts.py",
           "test_zv_check.py", "test_zx_elb_faults.py", "test_lab_instances.py", "test_zx_handbuilt.py",
           "test_zz_report.py", "test_zx_secret_locations.py", "test_zx_rolling_elb.py", "test_zx_broker.py",
           "test_zz_browser.py", "test_zx_docgaps.py", "test_zx_versions.py", "test_00_lab_lifecycle.py"]
GROUPS = {"test_zx_layouts.py", "test_zx_handbuilt.py"}
# ALONE: tests that bring up a lab of their own inside a module whose other tests
# share one (a module fixture): each of them (each case) is a group of its own.
ALONE = {"test_zx_discover.py": {"test_discover_adopts_document_004_after_the_runbook",
                                 "test_discover_adopts_an_elb_layout_after_the_runbook"}}


def group_of(nodeid: str) -> str:
    """The group of a test, from its node id alone (the xdist controller's view).
    A lab group's name never holds "::" (the scheduler tells unit tests by it)."""
    module = nodeid.split("::")[0].rsplit("/", 1)[-1]
    if module in SESSION_LAB:
        return "session-lab"
    if module in OWN_LAB:
        test = nodeid.rsplit("::", 1)[-1]
        if test.split("[")[0] in ALONE.get(module, ()):
            return f"{module[:-3]}[{test}"
        case = nodeid.rsplit("[", 1)[1] if module in GROUPS and nodeid.endswith("]") else ""
        return module[:-3] + (f"[{case}" if case else "")
    return nodeid


def pytest_xdist_make_scheduler(config, log):
    """`--dist loadgroup` with the groups above. (xdist's own xdist_group marks
    do not reach its scheduler under pytest 9: it rewrites a nodeid attribute
    pytest 9 no longer reads.)"""
    if config.getoption("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadScopeScheduling
    config.option.loadscopereorder = False  # our order (longest first), not xdist's by test count

    class LabGroups(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return group_of(nodeid)

        def _assign_work_unit(self, node) -> None:  # noqa: ANN001 - xdist's WorkerController
            """xdist hands a node its next group while the node still runs its last
            tests (a worker needs the test after its last one before it runs it), so
            a lab group handed to a busy node waits behind that node's lab group while
            other nodes go idle. A node still busy with a lab group gets the next
            unit test instead (seconds); the next lab group goes to a node about to
            be free."""
            busy = any(not done for scope, unit in self.assigned_work.get(node, {}).items() if "::" not in scope
                       for done in unit.values())
            if busy:
                unit = next((scope for scope in self.workqueue if "::" in scope), None)
                if unit is not None:
                    self.workqueue.move_to_end(unit, last=False)
            super()._assign_work_unit(node)

    return LabGroups(config, log)


def pytest_collection_modifyitems(config, items: list) -> None:
    """A test that uses a lab fixture is a lab test, marked or not, so that
    `-m "not lab"` never brings a lab up (or reuses someone else's). Under
    pytest-xdist the groups above go in their order, unit tests last."""
    for item in items:
        if LAB_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.lab)
            if item.path.name not in SESSION_LAB + OWN_LAB:
                raise pytest.UsageError(f"{item.path.name} uses the lab fixtures: add it to SESSION_LAB in "
                                        "tests/conftest.py (or to OWN_LAB if it brings up labs of its own)")
    if not _WORKER:
        return
    order = {"session-lab": 0, **{m[:-3]: i + 1 for i, m in enumerate(OWN_LAB)}}

    def key(item) -> int:
        return order.get(group_of(item.nodeid).split("[")[0], len(order))

    items.sort(key=key)  # stable: file order within each group
