"""The kernel a headless run executes its notebooks in, and how papermill
saves them while they run.

One kernel serves every section of a run (issue 10). Before each notebook it
is reset the way IPython's own ``%reset`` does it (``reset(new_session=True)``:
the user's variables gone, the execution count back at 1), so each executed
notebook reads exactly as if it had run alone. What stays is what is worth
keeping: imported modules, and the SSH connections the sections opened
(sshpool.py, turned on in this kernel only), so a host is connected once per
run instead of once per section. A kernel that died is replaced by a new one.
"""

from __future__ import annotations

import os
import threading
import time

from papermill.clientwrap import PapermillNotebookClient
from papermill.engines import NBClientEngine, NotebookExecutionManager, papermill_engines
from papermill.log import logger
from papermill.utils import remove_args

from ..core.context import ROOT
from ..remote.sshpool import ENV as KEEP_CONNECTIONS

KERNEL = "wso2-runbook"
# Imported while the kernel starts (silently: no execution count, no output),
# so the first section's first cell does not pay for them.
WARM_UP = "import runbook_lib, runbook_lib.sections, paramiko, lxml.etree, cryptography.x509, pymysql"
# Run silently before each notebook: a fresh namespace and count, the section's name for the run record.
# Then what outlived the reset (modules, caches, the kept connections) is frozen out of the garbage
# collector's sight (gc.freeze): each full collection, the reset's own included, walked all of it
# again (at 128 workers 0.1-0.2 s a time, 1 s a run; with the freeze 0.2 s). Frozen objects are still
# freed when their last reference goes; only a frozen cycle waits for the kernel's end (the run's).
PREPARE = ("get_ipython().reset(new_session=True)\n"
           "__import__('gc').freeze()\n"
           "__import__('os').environ['RUNBOOK_SECTION'] = {section!r}")
# No input history on disk: a run's notebooks are its record (and each new session would be a database write).
KERNEL_ARGS = ["--HistoryManager.enabled=False"]


class RunKernel:
    """A kernel started ahead of the first notebook and handed to papermill
    (``km``, and ``kc``: one client for the run, connected once) for each
    section; papermill leaves a kernel it did not start running, so the next
    section finds it with its imports and connections."""

    def __init__(self, socket_dir: str) -> None:
        self.socket_dir, self.count = socket_dir, 0
        self.km, self.kc = self._new(), None
        self.ready_error: BaseException | None = None
        self.thread = threading.Thread(target=self._start, daemon=True)
        self.thread.start()

    def _new(self):  # noqa: ANN202 - a jupyter_client KernelManager
        from jupyter_client.manager import KernelManager  # seconds to import: only a headless run needs it
        self.count += 1  # Unix sockets in the run's private folder, one prefix per kernel (runner.kernel_config)
        return KernelManager(kernel_name=KERNEL, transport="ipc", ip=os.path.join(self.socket_dir, f"kernel{self.count}"))

    def _start(self) -> None:
        try:
            self.km.start_kernel(cwd=str(ROOT), env={**os.environ, KEEP_CONNECTIONS: "1"}, extra_arguments=KERNEL_ARGS)
            self._execute(WARM_UP)
        except BaseException as e:  # the section then gets a kernel of its own
            self.ready_error = e

    def _execute(self, code: str) -> None:
        if self.kc is None:
            self.kc = self.km.client()
            self.kc.start_channels()
            self.kc.wait_for_ready(timeout=60)
            self.kc.allow_stdin = False  # as papermill's own clients: a cell asking for input fails, never waits
        reply = self.kc.execute_interactive(code, silent=True, store_history=False, timeout=60)
        if reply["content"]["status"] != "ok":
            raise RuntimeError(f"kernel set-up failed: {reply['content'].get('evalue', '')}")

    def for_section(self, section: str) -> dict:
        """papermill's arguments for SECTION: the kernel (reset) and its client;
        a new kernel when it died or would not reset; none (papermill starts
        one of its own) when that fails too."""
        self.thread.join()
        for attempt in (1, 2):
            if self.ready_error is None and self.km.is_alive():
                try:
                    self._execute(PREPARE.format(section=section))
                    return {"km": self.km, "kc": self.kc}
                except Exception as e:  # noqa: BLE001 - replaced below
                    self.ready_error = e
            if attempt == 1:
                self.stop()
                self.km, self.kc, self.ready_error = self._new(), None, None
                self._start()
        return {}

    def stop(self) -> None:
        self.thread.join()
        if self.kc is not None:
            self.kc.stop_channels()
        try:
            if self.km.has_kernel:
                self.km.shutdown_kernel(now=True)
        except Exception:  # already gone
            pass


class _Saves(NotebookExecutionManager):
    """Papermill writes (and validates) the whole output notebook before and
    after every cell; with tens of hosts' tables in it that is seconds per run.
    Here it is written when the notebook starts, after a cell when SAVE_EVERY
    seconds have passed since the last write, and always when it ends (also
    after a failure), so the record on disk is never older than that."""

    SAVE_EVERY = 5.0
    SAVE_SHARE = 0.2  # a save that took longer than this share of the interval stretches the interval

    def save(self, **kwargs) -> None:  # noqa: ANN003
        every = getattr(self, "_every", self.SAVE_EVERY)
        if self.end_time is not None or (self.now() - self.last_save_time).total_seconds() >= every:
            t0 = time.monotonic()
            super().save(**kwargs)
            # nbformat writes with Python's pure-Python JSON encoder (indent): a 5 MB notebook
            # (128 workers' diffs) takes seconds, so the interval grows with the notebook (issue 23)
            self._every = max(every, (time.monotonic() - t0) / self.SAVE_SHARE)

    def notebook_start(self, **kwargs) -> None:  # noqa: ANN003
        super().notebook_start(**kwargs)
        super().save()


class RunbookEngine(NBClientEngine):
    """Papermill's nbclient engine with the saves above, and the run's own
    kernel client (``kc``) when given: nbclient would otherwise connect a new
    client and wait for the kernel to answer it (a fraction of a second per
    notebook)."""

    @classmethod
    def execute_notebook(cls, nb, kernel_name, output_path=None, progress_bar=True, log_output=False,  # noqa: ANN001,ANN206
                         autosave_cell_every=30, **kwargs):
        nb_man = _Saves(nb, output_path=output_path, progress_bar=progress_bar, log_output=log_output,
                        autosave_cell_every=autosave_cell_every)
        nb_man.notebook_start()
        try:
            cls.execute_managed_notebook(nb_man, kernel_name, log_output=log_output, **kwargs)
        finally:
            nb_man.cleanup_pbar()
            nb_man.notebook_complete()
        return nb_man.nb

    @classmethod
    def execute_managed_notebook(cls, nb_man, kernel_name, log_output=False, stdout_file=None,  # noqa: ANN001,ANN206
                                 stderr_file=None, start_timeout=60, execution_timeout=None, kc=None, **kwargs):
        kwargs = remove_args(["input_path", "timeout", "startup_timeout"], **kwargs)
        client = PapermillNotebookClient(nb_man, timeout=execution_timeout, startup_timeout=start_timeout,
                                         kernel_name=kernel_name, log=logger, log_output=log_output,
                                         stdout_file=stdout_file, stderr_file=stderr_file, **kwargs)
        client.kc = kc  # None: nbclient connects one (to the kernel it starts, or to km)
        return client.execute()


ENGINE = "runbook"
papermill_engines.register(ENGINE, RunbookEngine)
