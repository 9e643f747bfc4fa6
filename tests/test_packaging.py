"""The project's packaging: pyproject.toml and environment.yml agree, and the
required packages are there."""

from __future__ import annotations

import subprocess
import sys
import tomllib

import pytest
import yaml

from runbook_lib.core.context import ROOT as LIB_ROOT
from runbook_lib.run.runner import NOTEBOOKS

from .conftest import ROOT

REQUIRED = {"jupyterlab", "papermill", "ipywidgets", "paramiko", "pymysql", "lxml", "nbval"}


def _name(req: str) -> str:
    for sep in "<>=!~[ ;":
        req = req.split(sep)[0]
    return req.strip().lower()


def test_pyproject_and_environment_list_the_same_packages():
    py = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d)
    assert sorted(py) == sorted(r for r in pip if not r.startswith("-e"))
    assert REQUIRED <= {_name(r) for r in py}
    assert env["name"] and env["channels"]


def test_console_command_is_declared():
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts == {"runbook": "runbook_lib.cli:main"}



def test_the_library_finds_the_project_and_its_notebooks():
    """The runner looks for the notebooks under the project root the library
    computes from its own place (core/context.py): a move must not lose it."""
    assert LIB_ROOT == ROOT.resolve()
    assert [p.name for p in sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))][:2] == ["00_preflight.ipynb",
                                                                                "01_load_balancer.ipynb"]


def test_no_import_circles():
    """The import scan of issue 16 (../shared/tools/import_cycles.py, beside the project in CI)."""
    tool = ROOT.parent / "shared" / "tools" / "import_cycles.py"
    if not tool.exists():
        pytest.skip(f"{tool} is not there")
    out = subprocess.run([sys.executable, str(tool), str(ROOT / "runbook_lib")], capture_output=True, text=True)
    assert out.stdout.splitlines()[-1].startswith("0 circles,"), out.stdout
