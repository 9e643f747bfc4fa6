"""`runbook discover`: adopt a cluster built by hand (issue 20).

found.py (a value and where it came from), reach.py (hosts and their names),
homes.py (Carbon homes), nodefiles.py (a node's files), lbread.py (nginx),
dbread.py (the database), assemble.py and services.py (the params tree), secrets.py,
consistency.py (the report), yamlout.py (the commented YAML), roundtrip.py
(the plan on the written file), adopt.py (all of it, in order).
"""

from .adopt import Options, Result, discover

__all__ = ["Options", "Result", "discover"]
