"""JupyterLab in a real headless browser, for the browser tests: start the
project's JupyterLab (its own settings override included: no news pop-up),
open a copy of a committed notebook with its outputs cleared, Run All, and
read what the page shows."""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import socket
import subprocess
import time
import warnings
from pathlib import Path
from typing import Iterator

import nbformat
import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from .browser_net import PrivateNet
from .conftest import ROOT

CHROMIUM = "/usr/bin/chromium"
SHOTS = ROOT / "test-output"
KERNEL_READY = """() => {
    const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;
    const kernel = w && w.sessionContext && w.sessionContext.session && w.sessionContext.session.kernel;
    return !!kernel && kernel.connectionStatus === "connected" && kernel.status === "idle";
}"""
# The private network (browser_net.py) each running JupyterLab's browser starts in, by base URL.
_PRIVATE: dict[str, tuple[PrivateNet, Path]] = {}
CHROME_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
               "--disable-sync", "--no-first-run"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def jupyterlab(tmp: Path) -> Iterator[tuple[str, str]]:
    """The project's JupyterLab (as `make jupyter` starts it), on a free port.
    The only user setting is the notebook's windowing (every cell rendered, so
    the page's text is the whole notebook's); the news pop-up is left to the
    project's own override in the venv (Makefile: overrides.json)."""
    if not shutil.which(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: `make deps` installs Debian's chromium")
    overrides = ROOT / ".venv/share/jupyter/lab/settings/overrides.json"
    if not overrides.exists():
        pytest.fail(f"{overrides} is missing: `make venv` installs it")
    token, port, base = secrets.token_hex(12), _free_port(), ""
    notebook = tmp / "settings" / "@jupyterlab" / "notebook-extension"
    notebook.mkdir(parents=True)
    (notebook / "tracker.jupyterlab-settings").write_text('{"windowingMode": "none"}')
    env = {k: v for k, v in os.environ.items() if k != "RUNBOOK_HEADLESS"}  # an operator's session
    env["JUPYTERLAB_SETTINGS_DIR"] = str(tmp / "settings")
    env["JUPYTERLAB_WORKSPACES_DIR"] = str(tmp / "workspaces")
    log = open(tmp / "jupyterlab.log", "w")
    proc = subprocess.Popen(
        [str(ROOT / ".venv/bin/jupyter"), "lab", "--no-browser", "--allow-root", "--ip=127.0.0.1",
         f"--port={port}", f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={ROOT}",
         f"--LabApp.workspaces_dir={tmp / 'workspaces'}", "--LabApp.expose_app_in_browser=True"],
        stdout=log, stderr=subprocess.STDOUT, env=env)
    try:
        for _ in range(300):
            try:
                socket.create_connection(("127.0.0.1", port), 0.2).close()
                break
            except OSError:
                time.sleep(0.2)
        base = f"http://127.0.0.1:{port}"
        _PRIVATE[base] = (PrivateNet([port]), tmp)
        yield base, token
    finally:
        if base in _PRIVATE:
            _PRIVATE.pop(base)[0].close()
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def fresh_copy(name: str, tag: str, **params: object) -> str:
    """A copy of notebooks/NAME under test-output/ (TAG in its name: a notebook of its own
    and so a kernel of its own for each test), outputs cleared (recorded ones would
    satisfy every wait), parameters set; its path relative to the project."""
    nb = nbformat.read(ROOT / "notebooks" / name, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
            if "parameters" in cell.get("metadata", {}).get("tags", []):
                cell.source += "".join(f"\n{k} = {v!r}" for k, v in params.items())
    rel = f"test-output/jlab-{tag}-{name}"
    SHOTS.mkdir(exist_ok=True)
    nbformat.write(nb, ROOT / rel)
    return rel


def open_notebook(page, url: str, tries: int = 3) -> None:  # noqa: ANN001 - Page
    """Open a notebook's URL and wait until its kernel is connected and idle.
    On a loaded machine JupyterLab itself sometimes never becomes usable: a
    stylesheet that did not load in time ("Error Loading Theme"), a fetch of
    the notebook that failed ("File Load Error ... Failed to fetch"), or a
    page that stayed blank but for the status bar (seen once with eight test
    processes). Such a page is reloaded, at most TRIES loads in all, each a
    warning pytest lists; the same failure every time fails the test with what
    each load showed: the dialog's text, the browser's failed requests and
    console errors."""
    seen: list[str] = []
    trouble: list[str] = []
    page.on("requestfailed", lambda r: trouble.append(f"request failed: {r.url.split('?')[0]} ({r.failure})"))
    page.on("console", lambda m: trouble.append(f"console: {m.text[:200]}") if m.type == "error" else None)
    for _ in range(tries):
        trouble.clear()
        page.goto(url)
        try:
            page.wait_for_selector(".jp-Notebook", timeout=90_000)
            page.wait_for_function(KERNEL_READY, timeout=90_000)
            return
        except PlaywrightTimeout:
            dialog = page.locator(".jp-Dialog")
            said = dialog.first.inner_text() if dialog.count() else ""
            seen.append((said or "no dialog; the kernel never showed connected and idle")
                        + (f" [{'; '.join(trouble[:5])}]" if trouble else ""))
            warnings.warn(f"JupyterLab did not become ready on load {len(seen)}: {seen[-1]!r}")  # listed by pytest
    page.screenshot(path=str(SHOTS / "jupyterlab-open-failed.png"))
    pytest.fail(f"JupyterLab did not open {url.split('?')[0]} ready to run ({len(seen)} loads): {seen}")


def run_all(page, base: str, token: str, rel: str, timeout_ms: int = 600_000) -> str:  # noqa: ANN001 - Page
    """Open REL, Run All, wait until its last cell (the end summary) has shown; the page's text."""
    workspace = Path(rel).stem  # a workspace of its own: no tabs restored from the tests before
    open_notebook(page, f"{base}/lab/workspaces/{workspace}/tree/{rel}?token={token}")
    page.evaluate("window.jupyterapp.commands.execute('notebook:run-all-cells')")
    page.wait_for_function("() => document.querySelectorAll('.runbook-summary').length >= 2 && "
                           "document.querySelectorAll('.jp-Cell')[document.querySelectorAll('.jp-Cell').length - 1]"
                           ".querySelector('.runbook-summary') !== null", timeout=timeout_ms)
    page.wait_for_function(KERNEL_READY, timeout=120_000)
    return page.evaluate("document.body.innerText")


def browser(p, base: str = ""):  # noqa: ANN001 - playwright
    """Chromium; for the JupyterLab at BASE, in that server's private network
    (browser_net.py: the links other lab instances add and remove do not reach it)."""
    if base:
        net, folder = _PRIVATE[base]
        return p.chromium.launch(executable_path=net.executable(CHROMIUM, folder), args=CHROME_ARGS)
    return p.chromium.launch(executable_path=CHROMIUM, args=CHROME_ARGS)


def file_only_page(p):  # noqa: ANN001 - playwright
    """A browser and a page that may load file:// URLs only (a report read offline);
    every other request is refused and listed in OUTSIDE, for the test to assert empty."""
    b = browser(p)
    page = b.new_page(viewport={"width": 1400, "height": 1000})
    outside: list[str] = []

    def only_files(route):  # noqa: ANN001 - playwright's Route
        if route.request.url.startswith("file://"):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    page.route("**/*", only_files)
    return b, page, outside
