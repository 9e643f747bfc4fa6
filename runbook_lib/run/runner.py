"""Headless runs: the section notebooks in order, executed with papermill
into a run folder. The executed notebooks are the audit record; a summary
(text and JSON) says what changed and what was verified."""

from __future__ import annotations

import json
import os
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import nbformat
import papermill as pm
from traitlets.config import Config

from ..core.context import ROOT, resolve_params_path
from ..core.redact import redact_notebook
from ..core.valuemask import share_key
from ..params import load_params
from ..params.secrets import mask_text
from . import recap, report_meta
from .changelog import CHANGES
from .kernels import ENGINE, KERNEL, RunKernel
from .report import register_secrets, write_report
from .runlock import acquire

NOTEBOOKS = ROOT / "notebooks"
class _ProgressTail:
    """Prints the lines a section's steps append to RUNBOOK_PROGRESS (which
    hosts are done) while the section runs; they never enter the notebook."""

    def __init__(self, path: Path, progress) -> None:  # noqa: ANN001
        self.path, self.progress = path, progress
        self.pos = path.stat().st_size if path.exists() else 0  # the sections' before it were printed then
        self.stop_event = threading.Event()
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()

    def _loop(self) -> None:
        while not self.stop_event.wait(0.5):
            self._drain()

    def _drain(self) -> None:
        try:
            with open(self.path) as f:
                f.seek(self.pos)
                text = f.read()
                self.pos = f.tell()
        except OSError:
            return
        for line in text.splitlines():
            self.progress(f"      {mask_text(line)}")

    def stop(self) -> None:
        self.stop_event.set()
        self.thread.join()
        self._drain()


# Notebooks opened by hand, never run in order (nor replayed by nbval): 09 adopts a
# cluster built by hand (runbook discover; README "Day two: adopting a cluster");
# 10 changes a running cluster node by node (runbook run --rolling; run/rolling.py).
OUTSIDE_RUN_ORDER = frozenset({"09_discover", "10_rolling_apply"})


def sections() -> list[str]:
    """Section names in run order: notebooks/NN_name.ipynb -> NN_name."""
    return sorted(p.stem for p in NOTEBOOKS.glob("[0-9][0-9]_*.ipynb") if p.stem not in OUTSIDE_RUN_ORDER)


@dataclass
class SectionResult:
    name: str
    ok: bool
    seconds: float
    output: str
    changed: int = 0  # made (apply) or that would be made (plan only)
    passed: int = 0
    failed: int = 0
    error: str = ""
    to_change: int = 0  # plan only: checks not yet as intended on a host the plan changes
    differs: list[str] = field(default_factory=list)  # plan only: "host  file: what would change"
    files: list[int] = field(default_factory=list)  # the lines [from, to) of changes.jsonl this section wrote

    def word(self, apply: bool) -> str:
        """One word for the section, the same in the progress line, the recap and the report."""
        if not self.ok:
            return "FAIL"
        if not apply and not (self.changed or self.passed or self.to_change or self.failed):
            return "skipped (plan only)"  # 08: it starts nodes, so a plan only shows what it would run
        return "diff" if not apply and self.changed else "ok"

    def count(self, entry: dict, apply: bool) -> None:
        """Add one record entry (a shown Report or Checks) to the totals."""
        if entry["type"] == "report" and entry["applied"] == apply:
            self.changed += entry["changed"]
            if not apply:
                self.differs += [difference(c) for c in entry["changes"]]
        elif entry["type"] == "checks":
            self.passed += entry["passed"]
            self.failed += entry["failed"]
            self.to_change += entry.get("to_change", 0)
        if self.failed:
            self.ok = False


@dataclass
class RunSummary:
    out_dir: str
    params_file: str
    apply: bool
    sections: list[SectionResult] = field(default_factory=list)
    meta: dict = field(default_factory=dict)  # report_meta.start/finish: when, by whom, which commit and cluster
    hosts: dict = field(default_factory=dict)  # recap.per_host: host -> ok, changed, to_change, failed

    @property
    def ok(self) -> bool:
        return all(s.ok for s in self.sections)

    @property
    def exit_code(self) -> int:
        """0: as intended (or applied and verified); 1: an error or a failed
        check; 2: plan only, and applying would change something."""
        if not self.ok:
            return EXIT_ERROR
        if not self.apply and any(s.changed for s in self.sections):
            return EXIT_CHANGES
        return EXIT_OK

    def text(self) -> str:
        lines = [f"run {self.out_dir} ({'apply' if self.apply else 'plan only'}) with {self.params_file}"]
        lines += [f"  {m}" for m in report_meta.lines(self.meta)]
        for s in self.sections:
            mark = s.word(self.apply).ljust(4)
            verb = "changes" if self.apply else "to change"
            checks = f"{s.passed} passed, " + (f"{s.to_change} to change, " if not self.apply else "")
            if mark.startswith("skipped"):
                lines.append(f"  {mark} {s.name}  ({s.seconds:.1f}s)")
                continue
            lines.append(f"  {mark} {s.name:<20} {verb} {s.changed:<3} checks {checks}{s.failed} failed"
                         f"  ({s.seconds:.1f}s)")
            if s.error:
                lines.append(f"       {s.error}")
        differs = [(s.name, d) for s in self.sections for d in s.differs]
        if differs:
            lines.append("would change (section  host  file or object: what):")
            lines += [f"  {name}  {d}" for name, d in differs]
        total = sum(s.changed for s in self.sections)
        checks = (f"{sum(s.passed for s in self.sections)} checks passed, "
                  + ("" if self.apply else f"{sum(s.to_change for s in self.sections)} to change, ")
                  + f"{sum(s.failed for s in self.sections)} failed")
        lines += recap.lines(self.hosts, self.apply)
        if self.meta.get("ended"):
            checks += f", in {report_meta.duration(self.meta['seconds'])}"
        if self.apply:
            verdict = "OK" if self.ok else "FAILED"
            lines.append(f"{verdict}: {len(self.sections)} sections, {total} changes, {checks}")
        else:
            verdict = {EXIT_OK: "AS INTENDED", EXIT_CHANGES: "WOULD CHANGE", EXIT_ERROR: "FAILED"}[self.exit_code]
            lines.append(f"{verdict}: {len(self.sections)} sections, {total} change{'s' * (total != 1)} to make, {checks} "
                         f"(plan only: nothing was changed; exit {self.exit_code})")
        return mask_text("\n".join(lines))

    def to_json(self) -> dict:
        return {"out_dir": self.out_dir, "params_file": self.params_file, "apply": self.apply, "ok": self.ok,
                "exit_code": self.exit_code, "meta": self.meta, "hosts": self.hosts,
                "sections": [{**s.__dict__, "word": s.word(self.apply)} for s in self.sections]}


EXIT_OK, EXIT_ERROR, EXIT_CHANGES = 0, 1, 2
MAX_PARTS = 3  # changes named per file in the summary; the report and notebooks have them all


def difference(change: dict) -> str:
    """One line naming the host, the file (or database object) and what
    would change in it, without the parts already as intended (a change
    as the run record keeps it: recorder.change_entry)."""
    parts = change["pending"]
    more = f"; and {len(parts) - MAX_PARTS} more (see the report)" if len(parts) > MAX_PARTS else ""
    return f"{change['host']}  {change['path'] or change['target']}: {'; '.join(parts[:MAX_PARTS]) or change['summary']}{more}"


def kernel_config(socket_dir: str) -> Config:
    """The runner's kernels talk over Unix sockets in a private (0700)
    folder, not over TCP on loopback: no port open to other local users,
    and so no ipykernel warning about unencrypted TCP in the output."""
    cfg = Config()
    cfg.KernelManager.transport = "ipc"
    cfg.KernelManager.ip = os.path.join(socket_dir, "kernel")
    return cfg


def run_sections(params_file: str | Path, apply: bool = False, only: list[str] | None = None,
                 out_dir: str | Path | None = None, hosts: str = "", progress=print) -> RunSummary:
    """Execute the notebooks in order; stop at the first failing section."""
    params_path = resolve_params_path(params_file).resolve()
    params = load_params(params_path)  # bad params stop here, before any notebook runs
    progress = _stamped(progress)
    t_run = time.monotonic()
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
    summary = RunSummary(str(out), params_arg, apply,
                         meta=report_meta.start(params_path, params_arg, params, apply, names))
    for line in report_meta.lines(summary.meta):
        progress(line)
    record = out / "record.jsonl"
    os.environ["RUNBOOK_RECORD"] = str(record)
    os.environ["RUNBOOK_RUN_ID"] = stamp
    os.environ["RUNBOOK_HEADLESS"] = "1"
    register_secrets(str(params_path))  # so this process masks the params' secrets by value too
    share_key()  # the kernels fingerprint secrets with this process's key: stable within the run
    sockets = tempfile.TemporaryDirectory(prefix="runbook-kernels-")
    os.environ["RUNBOOK_PROGRESS"] = str(out / "progress.log")
    kernel = RunKernel(sockets.name) if names else None  # one kernel for every section (kernels.py)
    try:
        for i, name in enumerate(names, 1):
            os.environ["RUNBOOK_SECTION"] = name
            progress(f"[{i}/{len(names)}] {name} ...")
            assert kernel is not None
            tail = _ProgressTail(out / "progress.log", progress)
            start_line = sum(1 for _ in open(record)) if record.exists() else 0
            files_from = _lines(out / CHANGES)
            t0 = time.monotonic()
            result = SectionResult(name, True, 0.0, str(out / f"{name}.ipynb"))
            try:
                pm.execute_notebook(str(NOTEBOOKS / f"{name}.ipynb"), result.output, kernel_name=KERNEL,
                                    parameters={"params_file": params_arg, "apply": apply, "hosts": hosts},
                                    cwd=str(ROOT), progress_bar=False, log_output=False, engine_name=ENGINE,
                                    config=kernel_config(sockets.name), **kernel.for_section(name))
            except pm.PapermillExecutionError as e:
                result.ok = False
                result.error = mask_text(f"cell {e.exec_count}: {e.ename}: {e.evalue}".splitlines()[0][:300])
            finally:
                tail.stop()
                if Path(result.output).exists():  # what the kernel printed outside the display objects, tracebacks too
                    redact_notebook(result.output, mask_text)
            result.seconds = time.monotonic() - t0
            result.files = [files_from, _lines(out / CHANGES)]
            lines = record.read_text().splitlines()[start_line:] if record.exists() else []
            for line in lines:
                result.count(json.loads(line), apply)
            summary.sections.append(result)
            progress(f"      {result.word(apply)} in {result.seconds:.1f}s"
                     + (f": {result.error}" if result.error else ""))
            if result.error or (apply and not result.ok):  # a plan goes on past checks that fail
                break
    finally:
        os.environ.pop("RUNBOOK_RECORD", None)
        os.environ.pop("RUNBOOK_PROGRESS", None)
        if kernel is not None:
            kernel.stop()
        if lock is not None:
            lock.release()
        os.environ.pop("RUNBOOK_SECTION", None)
        sockets.cleanup()
    summary.meta = report_meta.finish(summary.meta, time.monotonic() - t_run)
    summary.hosts = recap.per_host([json.loads(ln) for ln in record.read_text().splitlines() if ln.strip()]
                                   if record.exists() else [], apply,
                                   {str(h.address): n for n, h in params.hosts.items()})
    (out / "summary.txt").write_text(summary.text() + "\n")
    (out / "summary.json").write_text(json.dumps(summary.to_json(), indent=2) + "\n")
    write_report(out)
    return summary


def _lines(path: Path) -> int:
    return sum(1 for _ in open(path)) if path.exists() else 0


def _stamped(progress):  # noqa: ANN001, ANN202 - print or a test's collector
    """Every terminal line with its UTC time (HH:MM:SS), as a long section's sub-steps come."""
    if progress is print:
        return lambda text: print(f"{datetime.now(timezone.utc):%H:%M:%S} {text}", flush=True)
    return progress


def _apply_lock(params_path: Path, out: Path):
    return acquire(load_params(params_path), str(params_path), str(out))


def publish(run_dir: str | Path, dest: str | Path = NOTEBOOKS, only: str = "[0-9][0-9]_*",
            keep_parameters: bool = False) -> list[Path]:
    """Copy a run's executed notebooks into DEST as the committed record,
    without papermill's injected-parameters cell: the notebooks keep their
    own defaults (apply = False), so opening one never changes anything.
    KEEP_PARAMETERS keeps that cell, for the nbval fixture of an applied 08
    (tests/nbval/), which replays only on a lab."""
    out = []
    for src in sorted(Path(run_dir).glob(f"{only}.ipynb")):
        nb = nbformat.read(src, as_version=4)
        if not keep_parameters:
            nb.cells = [c for c in nb.cells if "injected-parameters" not in c.get("metadata", {}).get("tags", [])]
        nb.metadata.pop("papermill", None)
        for cell in nb.cells:
            cell.get("metadata", {}).pop("papermill", None)
            cell.get("metadata", {}).pop("execution", None)
            # Execution counts stay: nbval replays only cells that ran (a count), and the note at the
            # top of each notebook says its outputs were recorded on the lab (issue 25).
        target = Path(dest) / src.name
        nbformat.write(nb, target)
        out.append(target)
    return out
