"""Labs of a test's own (the OWN_LAB modules in conftest.py): a layout's lab
brought up fresh from params/, and the same with the runbook applied. Each
test process has its own lab instance, so these never touch another's."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Iterator

from runbook_lib.lab import api as labmod
from runbook_lib.params import Params, load_params
from runbook_lib.run.runner import run_sections, sections

from .conftest import PARAMS_LAB, ROOT, skip_if_shared

quiet = {"log": lambda *_: None}


def fresh_lab(name: str) -> tuple[Path, Params]:
    """params/NAME's lab, down then up (fresh homes); its path and params."""
    skip_if_shared()
    path = ROOT / "params" / name
    p = load_params(path)
    labmod.down(p, **quiet)
    labmod.up(p, path, **quiet)
    return path, p


@contextlib.contextmanager
def applied_lab(name: str, out_dir: Path, skip: tuple[str, ...] = ()) -> Iterator[tuple[Path, Params]]:
    """params/NAME's fresh lab with every section but SKIP applied; down again afterwards."""
    path, p = fresh_lab(name)
    try:
        res = run_sections(path, apply=True, out_dir=out_dir, progress=lambda *_: None,
                           only=[s for s in sections() if s not in skip])
        assert res.ok, res.text()
        yield path, p
    finally:
        labmod.down(p, **quiet)


def converge_session_lab(lab_params: Params, out_dir: Path) -> Params:
    """This process's lab of params/lab.yaml brought up fresh, the whole runbook applied
    (08 leaves the cluster running): the start of the day-two tests (check, JupyterLab Apply)."""
    skip_if_shared()
    labmod.down(lab_params, **quiet)
    labmod.up(lab_params, PARAMS_LAB, **quiet)
    applied = run_sections(PARAMS_LAB, apply=True, out_dir=out_dir, progress=lambda *_: None)
    assert applied.ok, applied.text()
    return lab_params
