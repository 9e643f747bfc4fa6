"""WSO2 Cluster Runbook: the library behind the notebooks.

Facts read state, operations compute a Change and apply it only when asked.
"""

__version__ = "0.1.0"
