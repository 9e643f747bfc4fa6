"""The run report an operator attaches to a ticket (issue 22), on a real run
folder: a fresh lab, a plan-only run, then `runbook run --apply`, its
index.html and rendered notebooks opened from disk in Debian's chromium
with the network cut off. Keeps screenshots in test-output/."""

from __future__ import annotations

import hashlib
import json
import re
import subprocess

import pytest

from runbook_lib.core.evidence import read as read_evidence
from runbook_lib.run.changelog import read_changes

from .conftest import PARAMS_LAB, ROOT, skip_if_shared
from .jupyterlab_driver import SHOTS, file_only_page

pytestmark = pytest.mark.lab
STAMPED = re.compile(r"^\d\d:\d\d:\d\d ")


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(ROOT / ".venv/bin/runbook"), "run", str(PARAMS_LAB), *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=1200)


@pytest.fixture(scope="module")
def runs(lab, lab_params, tmp_path_factory):
    """A plan-only run of a fresh lab, then the apply: (plan folder, plan output, apply folder, apply output)."""
    skip_if_shared()
    from runbook_lib.lab import api as labmod
    labmod.down(lab_params, log=lambda *_: None)
    labmod.up(lab_params, PARAMS_LAB, log=lambda *_: None)
    plan, applied = tmp_path_factory.mktemp("plan"), tmp_path_factory.mktemp("apply")
    p = _run("--out", str(plan))
    assert p.returncode == 2, p.stdout + p.stderr
    a = _run("--apply", "--out", str(applied))
    assert a.returncode == 0, a.stdout + a.stderr
    return plan, p.stdout, applied, a.stdout


def test_terminal_has_timestamps_sub_steps_recap_and_total_time(runs):
    plan, plan_out, applied, out = runs
    lines = out.splitlines()
    progress = lines[:lines.index(next(ln for ln in lines if ln.startswith("run ")))]
    assert progress and all(STAMPED.match(ln) for ln in progress), progress[:5]
    assert re.search(r"starting worker\d on node\d+", out) and "sent 20 requests through the load balancer" in out
    summary = json.loads((applied / "summary.json").read_text())
    for s in summary["sections"]:  # the progress word is the recap's word
        assert re.search(rf"\] {s['name']} \.\.\.\n(?:.*\n)*?\d\d:\d\d:\d\d +{re.escape(s['word'])} in ", out), s["name"]
        assert re.search(rf"^  {re.escape(s['word'])} +{s['name']}", out, re.M)
    assert "per host:" in out and re.search(r"^  node206 +ok=\d+ +changed=\d+ +failed=0$", out, re.M)
    assert (applied / "summary.txt").read_text().count("per host:") == 1
    assert re.search(r"\(total (\d+ min \d\d s|\d+\.\d s)\)$", lines[-1]), lines[-1]
    assert "skipped (plan only) 08_test_cluster" in plan_out and "diff 06_workers" in plan_out
    assert summary["meta"]["params_sha256"] == hashlib.sha256(PARAMS_LAB.read_bytes()).hexdigest()
    assert summary["meta"]["started"] < summary["meta"]["ended"] and summary["meta"]["runbook_commit"]


def test_front_page_proof_changes_and_metadata_in_chromium(runs):
    from playwright.sync_api import sync_playwright
    plan, _, applied, _ = runs
    SHOTS.mkdir(exist_ok=True)
    evidence = read_evidence(applied)
    started = {q["node"] for e in evidence if e["kind"] == "started" for q in e["quotes"]}
    assert {"manager", "worker1", "worker2", "worker3"} <= started
    with sync_playwright() as p:
        browser, page, outside = file_only_page(p)
        try:
            page.goto((applied / "index.html").as_uri())
            assert page.title().startswith("OK · apply of lab · ")
            assert page.locator("svg.spread").count() >= 2  # 08's spreads, before and with a worker stopped
            assert page.locator("table.matrix td.ok").count() >= 12  # 4 members, each seeing 3 others
            proof = page.locator("table#verdicts").inner_text()
            for node in started:  # each started node quoted in its own words, with the time it logged them
                assert re.search(rf"started\s+{node}\s+TID: \[-?\d+\] \[\] \[\d{{4}}-\d\d-\d\d [\d:,]+\]\s+INFO .*"
                                 r"WSO2 Carbon started in", proof), node
            assert "Member left [" in page.locator("body").inner_text()
            assert "Elected current node as the coordinator" in page.locator("body").inner_text()
            meta = page.locator("table#meta").inner_text()
            for text in ("started (UTC)", "ended (UTC)", "runbook commit", "sha256",
                         hashlib.sha256(PARAMS_LAB.read_bytes()).hexdigest(), "ei 6.1.1", "run by"):
                assert text in meta, text
            table = page.locator("table#changes").inner_text()
            for c in read_changes(applied):  # every file write of changes.jsonl, with its backup
                assert c.path in table, c.path
                if c.backup:
                    assert c.backup in table, c.backup
            page.screenshot(path=str(SHOTS / "run-report-front.png"), full_page=False)
            page.evaluate("document.getElementById('proof').scrollIntoView()")
            page.screenshot(path=str(SHOTS / "run-report-proof.png"), full_page=False)
            # a diff: folded, shown on a click, always printed
            label = page.locator(".fold > label", has_text="diff").first
            body = page.locator(".fold:has(> label:has-text('diff')) > .body").first
            assert not body.is_visible()
            label.click()
            assert body.is_visible()
            label.click()
            page.emulate_media(media="print")
            assert body.is_visible()
            page.emulate_media(media="screen")
            # the plan's page: 08 skipped, the /etc/hosts explained
            page.goto((plan / "index.html").as_uri())
            assert page.title().startswith("WOULD CHANGE · plan of lab · ")
            assert "skipped (plan only)" in page.locator("table#summary").inner_text()
            assert "tests the cluster only when applied" in page.locator("body").inner_text()
            assert page.locator("table#hosts tr").count() == 8  # the header and the lab's 7 hosts
            assert "changes this file earlier in this plan" in page.locator("table#changes").inner_text()
            color = page.locator("table#summary tr.to-change").first.evaluate("e => getComputedStyle(e).backgroundColor")
            assert color == "rgb(255, 248, 197)"  # amber, not the near-white of before
        finally:
            browser.close()
    assert outside == [], f"the report loaded from the network: {outside}"


def test_rendered_notebooks_are_titled_monospace_left_aligned_and_small(runs):
    from playwright.sync_api import sync_playwright
    _, _, applied, _ = runs
    pages = sorted(applied.glob("[0-9][0-9]_*.html"))
    assert len(pages) == 9
    with sync_playwright() as p:
        browser, page, outside = file_only_page(p)
        try:
            for path in pages:
                page.goto(path.as_uri())
                title = page.title()
                assert title.startswith(path.stem[:2] + " · ") and "apply of lab" in title, (path.name, title)
                text = path.read_text()  # our stylesheet only (the lab template's was ~255 KB of JupyterLab CSS)
                assert len("".join(re.findall(r"<style>(.*?)</style>", text, re.S))) < 20_000 and "jp-" not in text
            page.goto((applied / "05_manager.html").as_uri())
            assert page.locator(".same-diff").count() >= 1  # the apply does not repeat the plan's diff
            label = page.locator(".fold > label").first
            label.evaluate("e => e.closest('.cell').scrollIntoView()")
            label.click()
            page.screenshot(path=str(SHOTS / "run-report-notebook.png"), full_page=False)
            pre = page.locator(".fold > .body pre").first
            font = pre.evaluate("e => getComputedStyle(e).fontFamily")
            assert "mono" in font.lower(), font
            label.click()  # folded again: printing unfolds it
            page.emulate_media(media="print")
            assert pre.is_visible()
            page.emulate_media(media="screen")
            cell = page.locator("table.runbook-checks td").first
            assert cell.evaluate("e => getComputedStyle(e).textAlign") in ("left", "start")
        finally:
            browser.close()
    assert outside == []
