"""Running a section notebook headless, as the runner does, and reading what
it showed. Shared by the notebook tests."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import nbformat

from .conftest import ROOT


def outputs_text(path: str | Path) -> str:
    """Every output of an executed notebook as plain text, in cell order."""
    nb = nbformat.read(path, as_version=4)
    return "\n".join(o.get("text") or o.get("data", {}).get("text/plain", "") or o.get("evalue", "")
                     for c in nb.cells for o in c.get("outputs", []))


def papermill(notebook: str, out: Path, *extra: str) -> tuple[subprocess.CompletedProcess, str]:
    """notebooks/NOTEBOOK with params_file=params/lab.yaml and EXTRA `-p name value` pairs,
    through the papermill CLI. Returns the process and the outputs' text ('' if none)."""
    res = subprocess.run([str(ROOT / ".venv/bin/papermill"), str(ROOT / "notebooks" / notebook), str(out),
                          "-p", "params_file", "params/lab.yaml", *extra], cwd=ROOT, capture_output=True,
                         text=True, timeout=600, env={**os.environ, "RUNBOOK_HEADLESS": "1"})
    return res, outputs_text(out) if Path(out).exists() else ""


def applies_and_converges(notebook: str, tmp_path: Path, secret: str) -> str:
    """Run NOTEBOOK with apply=True twice; both runs succeed, the second
    changes nothing, and SECRET appears in neither. Returns the second run's text."""
    texts = []
    for n in (1, 2):
        res, text = papermill(notebook, tmp_path / f"{n}.ipynb", "-p", "apply", "True")
        assert res.returncode == 0, res.stderr[-2000:]
        assert secret not in (tmp_path / f"{n}.ipynb").read_text()  # masked everywhere
        texts.append(text)
    assert "changed" not in texts[1].replace("no changes", "")
    return texts[1]


def runs_apply_twice_and_converge(params: Path, sections: list[str], tmp_path: Path):
    """`runbook run --apply` twice on PARAMS' lab: the first changes something,
    both pass every check, the second changes nothing. Returns the second summary."""
    from runbook_lib.run.runner import run_sections
    first = run_sections(params, apply=True, only=sections, out_dir=tmp_path / "1", progress=lambda *_: None)
    assert first.ok, first.text()
    assert sum(s.changed for s in first.sections) > 0
    second = run_sections(params, apply=True, only=sections, out_dir=tmp_path / "2", progress=lambda *_: None)
    assert second.ok, second.text()
    assert sum(s.changed for s in second.sections) == 0, second.text()
    return second
