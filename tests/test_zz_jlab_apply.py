"""Issue 25 in a real browser (Debian's chromium driving the project's
JupyterLab) on a converged lab: no Apply button where there is nothing to
apply; 08 plan-only on the running cluster runs its read-only checks; the
summary cell names the one drifted file; an Apply clicked after its target
changed writes nothing and says so, and the new plan's Apply then applies
and verifies. Screenshots kept in test-output/jlab-*.png."""

from __future__ import annotations

import re

import pytest

from runbook_lib.params import node_views
from runbook_lib.sections.cluster.traffic import redeploy_for_load

from .conftest import PARAMS_LAB
from .ownlab import converge_session_lab
from .jupyterlab_driver import SHOTS, browser, fresh_copy, jupyterlab, run_all

pytestmark = pytest.mark.lab
HAND = "hand.edited.domain"


@pytest.fixture(scope="module")
def converged(lab, lab_params, tmp_path_factory):
    """A fresh lab with the whole runbook applied."""
    yield converge_session_lab(lab_params, tmp_path_factory.mktemp("apply"))


@pytest.fixture(scope="module")
def server(converged, tmp_path_factory):
    with jupyterlab(tmp_path_factory.mktemp("jupyterlab")) as s:
        yield s


@pytest.fixture
def page(server, request):
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        b = browser(p, server[0])
        pg = b.new_page(viewport={"width": 1400, "height": 1000})
        try:
            yield pg
        finally:
            pg.screenshot(path=str(SHOTS / f"jlab-last-{request.node.name[:40]}.png"))
            b.close()


def shot(page, name: str) -> None:  # noqa: ANN001
    page.screenshot(path=str(SHOTS / f"jlab-{name}.png"), full_page=False)


def enabled_apply_buttons(page) -> int:  # noqa: ANN001
    return page.evaluate("[...document.querySelectorAll('button')].filter(b => b.textContent.trim() === 'Apply' "
                         "&& !b.disabled).length")


def test_converged_lab_offers_no_apply_and_no_news_pop_up(server, page):
    base, token = server
    text = run_all(page, base, token, fresh_copy("06_workers.ipynb", "converged"))
    shot(page, "06-converged")
    assert enabled_apply_buttons(page) == 0
    assert text.count("nothing to apply.") == 6, text  # 06's six apply cells (the rsync step's included)
    assert "not applied (apply=False)" not in text
    assert "Changes: none: every target already as intended" in text and "Failures (0): none" in text
    assert "Next step: nothing to do in this notebook" in text
    # the project's settings override: no "official Jupyter news?" toast over the tables
    assert page.locator(".jp-Notification-Toast, .Toastify__toast").count() == 0
    assert "Would you like to get notified about official Jupyter news" not in text


def test_08_plan_only_runs_the_read_only_checks_on_the_running_cluster(server, page):
    base, token = server
    deployed = redeploy_for_load(str(PARAMS_LAB))  # every applied 08 removes its test artifact at its end
    assert not deployed.failed, deployed.text()
    text = run_all(page, base, token, fresh_copy("08_test_cluster.ipynb", "plan-only"))
    page.locator(".runbook-summary").first.scroll_into_view_if_needed()
    shot(page, "08-plan-only")
    assert re.search(r"cluster membership, as each node logs it: \d+ passed, 0 failed", text), text
    assert re.search(r"the management console through the load balancer: 3 passed, 0 failed", text), text
    assert re.search(r"every live worker takes traffic: \d+ passed, 0 failed", text), text
    assert "membership as every node logs it" in text  # the matrix
    for step in ("start the nodes", "deploy the test artifact", "stop a worker, route around it, start it again",
                 "remove the test artifact"):
        assert f"{step}: not run (apply=False): it starts, stops or deploys" in text
    assert "Needs apply = True, not run (4)" in text and "Failures (0): none" in text
    assert not re.search(r"WSO2 Carbon started in \d", text)  # nothing was started


def test_summary_names_the_drifted_file_and_a_stale_apply_writes_nothing(server, page, converged, lab_hosts):
    base, token = server
    worker = node_views(converged)["worker3"]
    axis2, host = worker.file("axis2"), lab_hosts[worker.host_name]
    original = host.read_file(axis2)
    port = re.search(rb'<parameter name="localMemberPort">(\d+)<', original).group(1).decode()
    host.check(f"sed -i 's|<parameter name=\"domain\">wso2.ei.domain<|<parameter name=\"domain\">{HAND}<|' {axis2}")
    try:
        text = run_all(page, base, token, fresh_copy("06_workers.ipynb", "drift"))
        summary = page.locator(".runbook-summary").first
        summary.scroll_into_view_if_needed()
        shot(page, "06-drift-summary")
        top = summary.inner_text()
        assert f"Changes to make (1)" in top and f"{worker.host_name}:{axis2} (domain)" in top, top
        assert "Next step: review the plans below, then set `apply = True`" in top
        assert enabled_apply_buttons(page) == 1, text
        # the plan names only the setting that changes
        assert f"'{HAND}' -> 'wso2.ei.domain'" in text and "other settings already as intended" in text
        # edited again before the click: the Apply must not write the plan it no longer matches
        host.check(f"sed -i 's|<parameter name=\"localMemberPort\">{port}<|<parameter name=\"localMemberPort\">4999<|' "
                   f"{axis2}")
        edited = host.read_file(axis2)
        button = page.locator("button:has-text('Apply'):not([disabled])").first
        button.scroll_into_view_if_needed()
        button.click()
        drift = page.locator(".runbook-drift").first
        drift.wait_for(state="visible", timeout=120_000)
        drift.scroll_into_view_if_needed()
        shot(page, "06-apply-refused")
        assert "NOT applied, nothing was written" in drift.inner_text()
        assert "localMemberPort" in drift.inner_text() and "4999" in drift.inner_text()
        assert host.read_file(axis2) == edited
        # the new plan has its own Apply: it applies both values, then verifies under the button
        page.wait_for_function("() => [...document.querySelectorAll('button')].filter(b => "
                               "b.textContent.trim() === 'Apply' && !b.disabled).length === 1", timeout=60_000)
        again = page.locator("button:has-text('Apply'):not([disabled])").first
        again.scroll_into_view_if_needed()
        again.click()
        page.wait_for_selector("text=/\\d+ of \\d+ changed/", state="attached", timeout=120_000)
        page.wait_for_selector(".runbook-superseded", state="attached", timeout=60_000)
        page.wait_for_function("() => document.body.innerText.includes("
                               "'06 axis2.xml on the worker/member nodes: 33 passed, 0 failed')", timeout=120_000)
        shot(page, "06-applied-verified")
        after = host.read_file(axis2)
        assert b'<parameter name="domain">wso2.ei.domain<' in after
        assert f'<parameter name="localMemberPort">{port}<'.encode() in after
        body = page.evaluate("document.body.innerText")
        assert "superseded" in body and "applied with the Apply button below" in body
    finally:
        host.write_file(axis2, original)
