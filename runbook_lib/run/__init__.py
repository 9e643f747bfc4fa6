"""A run of the runbook and what it leaves: runner (headless runs with
papermill), kernels (the runner's Jupyter kernels), runlock (one apply per
cluster at a time), report (the run folder's index.html), changelog (every
file a run changed), rollback (put them back) and backups (list them)."""

from . import iri_grammar  # noqa: F401 - before any module here imports nbformat or papermill
