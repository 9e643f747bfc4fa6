"""JupyterLab in a real headless browser (Debian's chromium, driven by
playwright): a section notebook's diff, check table and Apply button render
and work. Keeps a screenshot in test-output/."""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import time

import pytest

from .conftest import skip_if_shared, ROOT

pytestmark = pytest.mark.lab
SOURCE = ROOT / "notebooks" / "05_manager.ipynb"
NOTEBOOK = "test-output/05_manager-fresh.ipynb"  # the committed notebook, outputs cleared
SHOTS = ROOT / "test-output"
CHROMIUM = "/usr/bin/chromium"
KERNEL_READY = """() => {
    const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;
    const kernel = w && w.sessionContext && w.sessionContext.session && w.sessionContext.session.kernel;
    return !!kernel && kernel.connectionStatus === "connected" && kernel.status === "idle";
}"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def jupyterlab(lab, lab_params, tmp_path):
    skip_if_shared()
    from runbook_lib.lab import api as labmod
    labmod.down(lab_params, log=lambda *_: None)  # a fresh lab: the plan has changes to show
    labmod.up(lab_params, ROOT / "params" / "lab.yaml", log=lambda *_: None)
    if not shutil.which(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: `make deps` installs Debian's chromium")
    token, port = secrets.token_hex(12), _free_port()
    settings = tmp_path / "settings" / "@jupyterlab" / "apputils-extension"
    settings.mkdir(parents=True)
    (settings / "notification.jupyterlab-settings").write_text('{"fetchNews": "false", "checkForUpdates": false}')
    env = {k: v for k, v in os.environ.items() if k != "RUNBOOK_HEADLESS"}  # an operator's session
    env["JUPYTERLAB_SETTINGS_DIR"] = str(tmp_path / "settings")
    env["JUPYTERLAB_WORKSPACES_DIR"] = str(tmp_path / "workspaces")  # no tabs restored from other sessions
    log = open(tmp_path / "jupyterlab.log", "w")
    proc = subprocess.Popen(
        [str(ROOT / ".venv/bin/jupyter"), "lab", "--no-browser", "--allow-root", "--ip=127.0.0.1",
         f"--port={port}", f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={ROOT}",
         f"--LabApp.workspaces_dir={tmp_path / 'workspaces'}", "--LabApp.expose_app_in_browser=True"],
        stdout=log, stderr=subprocess.STDOUT, env=env)
    try:
        for _ in range(300):
            try:
                socket.create_connection(("127.0.0.1", port), 0.2).close()
                break
            except OSError:
                time.sleep(0.2)
        yield f"http://127.0.0.1:{port}", token
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def test_notebook_renders_diff_check_table_and_apply_button(jupyterlab, lab_hosts, lab_params):
    from playwright.sync_api import sync_playwright

    from runbook_lib.params import node_views
    base, token = jupyterlab
    manager = node_views(lab_params)["manager"]
    axis2 = manager.file("axis2")
    before = lab_hosts[manager.host_name].read_file(axis2)
    SHOTS.mkdir(exist_ok=True)
    import nbformat
    nb = nbformat.read(SOURCE, as_version=4)
    for cell in nb.cells:  # recorded outputs would satisfy every wait below without running anything
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    nbformat.write(nb, ROOT / NOTEBOOK)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run"])
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        try:
            page.goto(f"{base}/lab/tree/{NOTEBOOK}?token={token}")
            page.wait_for_selector(".jp-Notebook", timeout=90_000)
            # the kernel connected and idle, then Run > Run All Cells (the command that menu item runs)
            page.wait_for_function(KERNEL_READY, timeout=120_000)
            page.evaluate("window.jupyterapp.commands.execute('notebook:run-all-cells')")
            # the plan: a coloured unified diff of the file it will change
            added = page.locator("pre span[style*='#1a7f37']").first
            added.wait_for(state="attached", timeout=120_000)
            assert added.text_content().startswith("+")
            # the verification table
            # (JupyterLab renders cells outside the viewport lazily: attached, not visible)
            page.wait_for_selector("table.runbook-checks", state="attached", timeout=120_000)
            # apply=False: nothing changed yet; the Apply button is offered
            button = page.locator("button:has-text('Apply')").first
            button.wait_for(state="attached", timeout=60_000)
            assert lab_hosts[manager.host_name].read_file(axis2) == before
            page.screenshot(path=str(SHOTS / "jupyterlab-plan.png"), full_page=False)
            button.scroll_into_view_if_needed()
            button.click()
            page.wait_for_selector("text=/\\d+ of \\d+ changed/", state="attached", timeout=120_000)
            page.screenshot(path=str(SHOTS / "jupyterlab-applied.png"), full_page=False)
        finally:
            page.screenshot(path=str(SHOTS / "jupyterlab-last.png"))
            browser.close()
    after = lab_hosts[manager.host_name].read_file(axis2)
    assert after != before and b'enable="true"' in after


def test_run_report_opens_from_disk_and_shows_the_summary(lab, tmp_path):
    """A plan-only run's index.html, opened as a file in chromium with the
    network cut off: the summary table shows, and the notebook link opens."""
    from playwright.sync_api import sync_playwright
    out = tmp_path / "run"
    res = subprocess.run([str(ROOT / ".venv/bin/runbook"), "run", "params/lab.yaml", "--sections", "preflight",
                          "load_balancer", "--out", str(out)], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert res.returncode in (0, 2), res.stdout + res.stderr  # plan only: 2 when the lab is not yet configured
    assert "Kernel is running over TCP" not in res.stdout + res.stderr
    SHOTS.mkdir(exist_ok=True)
    outside: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu",
                                    "--disable-background-networking", "--disable-component-update"])
        page = browser.new_page(viewport={"width": 1400, "height": 1000})

        def only_files(route):  # noqa: ANN001 - playwright's Route
            if route.request.url.startswith("file://"):
                route.continue_()
            else:
                outside.append(route.request.url)
                route.abort()

        page.route("**/*", only_files)
        try:
            page.goto((out / "index.html").as_uri())
            table = page.locator("table#summary")
            table.wait_for(state="visible", timeout=30_000)
            rows = table.locator("tr")
            assert rows.count() == 3  # the header and two sections
            assert "00_preflight" in rows.nth(1).inner_text() and "01_load_balancer" in rows.nth(2).inner_text()
            verdict = page.locator(".verdict").inner_text()
            assert verdict in ("AS INTENDED: nothing would change", "WOULD CHANGE: drift found"), verdict
            page.screenshot(path=str(SHOTS / "run-report.png"), full_page=False)
            page.click("text=00_preflight.html")
            page.wait_for_selector("text=/preflight: 5\\d passed, 0 failed/", timeout=30_000)  # 55 with the vault's keystore checks
        finally:
            browser.close()
    assert outside == [], f"the report loaded from the network: {outside}"
