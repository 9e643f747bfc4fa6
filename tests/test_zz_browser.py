"""JupyterLab in a real headless browser (Debian's chromium, driven by
playwright): a section notebook's diff, check table and Apply button render
and work. Keeps a screenshot in test-output/."""

from __future__ import annotations

import subprocess

import pytest

from . import jupyterlab_driver as driver
from .conftest import skip_if_shared, ROOT
from .jupyterlab_driver import SHOTS

pytestmark = pytest.mark.lab


@pytest.fixture
def jupyterlab(lab, lab_params, tmp_path):
    skip_if_shared()
    from runbook_lib.lab import api as labmod
    labmod.down(lab_params, log=lambda *_: None)  # a fresh lab: the plan has changes to show
    labmod.up(lab_params, ROOT / "params" / "lab.yaml", log=lambda *_: None)
    with driver.jupyterlab(tmp_path) as server:
        yield server


def test_notebook_renders_diff_check_table_and_apply_button(jupyterlab, lab_hosts, lab_params):
    from playwright.sync_api import sync_playwright

    from runbook_lib.params import node_views
    base, token = jupyterlab
    manager = node_views(lab_params)["manager"]
    axis2 = manager.file("axis2")
    before = lab_hosts[manager.host_name].read_file(axis2)
    notebook = driver.fresh_copy("05_manager.ipynb", "browser")  # recorded outputs would satisfy every wait
    with sync_playwright() as p:
        browser = driver.browser(p, base)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        try:
            # the kernel connected and idle, then Run > Run All Cells (the command that menu item runs)
            driver.open_notebook(page, f"{base}/lab/tree/{notebook}?token={token}")
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
    with sync_playwright() as p:
        browser, page, outside = driver.file_only_page(p)
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
