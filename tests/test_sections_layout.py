"""Issue 16: each notebook 00-08 imports one entry module of runbook_lib/sections/,
named for its section, and calls only functions that module defines itself (no
forwarders); sections/ holds nothing but those modules at its root. No lab."""
from __future__ import annotations

import ast
import importlib
import inspect
import re
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
SECTIONS = ROOT / "runbook_lib" / "sections"
ENTRY = {"00_preflight": "preflight", "01_load_balancer": "load_balancer", "02_certificates": "certificates",
         "03_databases": "databases", "04_registry_mount": "registry_mount", "05_manager": "manager",
         "06_workers": "workers", "07_broker": "broker", "08_test_cluster": "cluster_trial"}


def _code(notebook: str) -> str:
    nb = nbformat.read(ROOT / "notebooks" / f"{notebook}.ipynb", as_version=4)
    return "\n".join(c.source for c in nb.cells if c.cell_type == "code")


@pytest.mark.parametrize("notebook", sorted(ENTRY))
def test_a_notebook_calls_its_one_entry_module(notebook):
    code, entry = _code(notebook), ENTRY[notebook]
    imported = re.findall(r"from runbook_lib\.sections\b(.*?) import (.*)", code)
    assert imported == [("", entry)], imported
    assert not re.search(r"runbook_lib\.sections\.\w", code)
    module = importlib.import_module(f"runbook_lib.sections.{entry}")
    called = set(re.findall(rf"\b{entry}\.(\w+)\(", code))
    assert called
    for name in called:
        fn = getattr(module, name, None)
        assert inspect.isfunction(fn) and fn.__module__ == module.__name__, f"{entry}.{name}"


@pytest.mark.parametrize("entry", sorted(ENTRY.values()))
def test_an_entry_module_forwards_nothing(entry):
    """Its public functions are its own; it imports helpers, never another entry module."""
    module = importlib.import_module(f"runbook_lib.sections.{entry}")
    for name, value in vars(module).items():
        if inspect.isfunction(value) and not name.startswith("_"):
            assert value.__module__ == module.__name__, f"{entry}.{name} is {value.__module__}'s"
    tree = ast.parse((SECTIONS / f"{entry}.py").read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 1 and not node.module:
            assert not {a.name for a in node.names} & set(ENTRY.values()), entry


def test_sections_root_holds_only_entry_modules():
    assert sorted(p.stem for p in SECTIONS.glob("*.py")) == sorted([*ENTRY.values(), "__init__"])
    assert all((p / "__init__.py").exists() for p in SECTIONS.iterdir() if p.is_dir() and p.name != "__pycache__")
