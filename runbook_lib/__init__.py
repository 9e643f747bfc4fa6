"""WSO2 Cluster Runbook: the library behind the notebooks.

Facts read state, operations compute a Change and apply it only when asked.
Notebooks use the names re-exported here. The packages, by concern: core/
(the step model), sections/ (what the notebooks call), remote/ (the hosts),
run/ (headless runs and their record), params/, products.py, facts/,
operations/, configedit/, lab/ (the lab and its stand-in).
"""

from .core.cells import apply, preview, report, require, show, verify
from .core.following import summary
from .core.context import Run, open_run
from .core.step import Check, Checks, Operation, Plan, Report

__version__ = "0.1.0"
__all__ = ["open_run", "Run", "Plan", "Operation", "Report", "Check", "Checks", "show", "report", "preview",
           "verify", "require", "apply", "summary"]
