"""The headless runner's notebook saves (run/kernels.py _Saves): a save that
is slow (a big notebook: 128 workers' diffs) stretches the interval between
saves, so writing the record never takes more than a fifth of a run (issue 23)."""

from __future__ import annotations

import time

import nbformat
from papermill.engines import NotebookExecutionManager

from runbook_lib.run.kernels import _Saves


def test_a_slow_save_stretches_the_interval(monkeypatch):
    saved: list[float] = []

    def slow_save(self, **kwargs):
        time.sleep(0.05)
        saved.append(time.monotonic())
        self.last_save_time = self.now()
    monkeypatch.setattr(NotebookExecutionManager, "save", slow_save)
    m = _Saves(nbformat.v4.new_notebook(), output_path=None, progress_bar=False)
    m.SAVE_EVERY = 0.01
    time.sleep(0.02)
    m.save()
    assert len(saved) == 1
    stretched = m._every  # the save's own time / SAVE_SHARE: at least 0.25 s, more on a loaded machine
    assert stretched >= 0.05 / m.SAVE_SHARE
    time.sleep(0.1)
    m.save()  # 0.05 s per save: the next one waits at least 0.25 s
    assert len(saved) == 1
    time.sleep(stretched)  # past the stretched interval however long the save took (CI: 8 test processes)
    m.save()
    assert len(saved) == 2
    m.end_time = m.now()  # the notebook ended: always written
    m.save()
    assert len(saved) == 3
