"""Headless runs: the section notebooks in order, executed with papermill
into a run folder. The executed notebooks are the audit record; a summary
(text and JSON) says what changed and what was verified."""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import papermill as pm

from .context import ROOT, resolve_params_path
from .params.secrets import mask_text

NOTEBOOKS = ROOT / "notebooks"
KERNEL = "wso2-runbook"


def sections() -> list[str]:
    """Section names in run order: notebooks/NN_name.ipynb -> NN_name."""
    return sorted(p.stem for p in NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))


@dataclass
class SectionResult:
    name: str
    ok: bool
    seconds: float
    output: str
    changed: int = 0
    passed: int = 0
    failed: int = 0
    error: str = ""


@dataclass
class RunSummary:
    out_dir: str
    params_file: str
    apply: bool
    sections: list[SectionResult] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(s.ok for s in self.sections)

    def text(self) -> str:
        lines = [f"run {self.out_dir} ({'apply' if self.apply else 'plan only'}) with {self.params_file}"]
        for s in self.sections:
            mark = "ok  " if s.ok else "FAIL"
            failed = "failed" if self.apply else "not yet as intended"
            lines.append(f"  {mark} {s.name:<20} changes {s.changed:<3} checks {s.passed} passed, "
                         f"{s.failed} {failed}  ({s.seconds:.1f}s)")
            if s.error:
                lines.append(f"       {s.error}")
        total_changes = sum(s.changed for s in self.sections)
        lines.append(f"{'OK' if self.ok else 'FAILED'}: {len(self.sections)} sections, {total_changes} changes, "
                     f"{sum(s.passed for s in self.sections)} checks passed, "
                     f"{sum(s.failed for s in self.sections)} "
                     + ("failed" if self.apply else "not yet as intended (plan only: nothing was changed)"))
        return mask_text("\n".join(lines))

    def to_json(self) -> dict:
        return {"out_dir": self.out_dir, "params_file": self.params_file, "apply": self.apply, "ok": self.ok,
                "sections": [s.__dict__ for s in self.sections]}


def run_sections(params_file: str | Path, apply: bool = False, only: list[str] | None = None,
                 out_dir: str | Path | None = None, hosts: str = "", progress=print) -> RunSummary:
    """Execute the notebooks in order; stop at the first failing section."""
    params_path = resolve_params_path(params_file).resolve()
    try:  # relative to the project when inside it: recorded notebooks then replay from any clone
        params_arg = str(params_path.relative_to(ROOT))
    except ValueError:
        params_arg = str(params_path)
    names = sections()
    if only:
        unknown = [s for s in only if not any(n == s or n.split("_", 1)[1] == s for n in names)]
        if unknown:
            raise ValueError(f"unknown sections {unknown}; known: {names}")
        names = [n for n in names if n in only or n.split("_", 1)[1] in only]
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    out = Path(out_dir) if out_dir else ROOT / "runs" / stamp
    lock = _apply_lock(params_path, out) if apply else None  # refuses a second --apply (runlock.py)
    out.mkdir(parents=True, exist_ok=True)
    summary = RunSummary(str(out), params_arg, apply)
    record = out / "record.jsonl"
    os.environ["RUNBOOK_RECORD"] = str(record)
    os.environ["RUNBOOK_RUN_ID"] = stamp
    os.environ["RUNBOOK_HEADLESS"] = "1"
    try:
        for i, name in enumerate(names, 1):
            progress(f"[{i}/{len(names)}] {name} ...")
            start_line = sum(1 for _ in open(record)) if record.exists() else 0
            t0 = time.monotonic()
            result = SectionResult(name, True, 0.0, str(out / f"{name}.ipynb"))
            try:
                pm.execute_notebook(str(NOTEBOOKS / f"{name}.ipynb"), result.output, kernel_name=KERNEL,
                                    parameters={"params_file": params_arg, "apply": apply, "hosts": hosts},
                                    cwd=str(ROOT), progress_bar=False, log_output=False)
            except pm.PapermillExecutionError as e:
                result.ok = False
                result.error = mask_text(f"cell {e.exec_count}: {e.ename}: {e.evalue}".splitlines()[0][:300])
            result.seconds = time.monotonic() - t0
            lines = record.read_text().splitlines()[start_line:] if record.exists() else []
            for line in lines:
                entry = json.loads(line)
                if entry["type"] == "report" and entry["applied"]:
                    result.changed += entry["changed"]
                elif entry["type"] == "checks":
                    result.passed += entry["passed"]
                    result.failed += entry["failed"]
            summary.sections.append(result)
            progress(f"      {'ok' if result.ok else 'FAILED'} in {result.seconds:.1f}s"
                     + (f": {result.error}" if result.error else ""))
            if not result.ok:
                break
    finally:
        os.environ.pop("RUNBOOK_RECORD", None)
        if lock is not None:
            lock.release()
    (out / "summary.txt").write_text(summary.text() + "\n")
    (out / "summary.json").write_text(json.dumps(summary.to_json(), indent=2) + "\n")
    return summary


def _apply_lock(params_path: Path, out: Path):
    from .params import load_params
    from .runlock import acquire
    return acquire(load_params(params_path), str(params_path), str(out))


def publish(run_dir: str | Path, dest: str | Path = NOTEBOOKS) -> list[Path]:
    """Copy a run's executed notebooks into DEST as the committed record,
    without papermill's injected-parameters cell: the notebooks keep their
    own defaults (apply = False), so opening one never changes anything."""
    import nbformat
    out = []
    for src in sorted(Path(run_dir).glob("[0-9][0-9]_*.ipynb")):
        nb = nbformat.read(src, as_version=4)
        nb.cells = [c for c in nb.cells if "injected-parameters" not in c.get("metadata", {}).get("tags", [])]
        nb.metadata.pop("papermill", None)
        for cell in nb.cells:
            cell.get("metadata", {}).pop("papermill", None)
            cell.get("metadata", {}).pop("execution", None)
        target = Path(dest) / src.name
        nbformat.write(nb, target)
        out.append(target)
    return out
