"""The project's packaging: pyproject.toml and environment.yml agree, and the
required packages are there."""

from __future__ import annotations

import tomllib

import yaml

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
