"""The step model every section builds on: errors (the RunbookError tree),
change (what an operation did or would do), step (Plan, Operation, Check,
Checks; show/apply/verify), textview (plain-text tables and diffs) and
context (the Run a notebook opens: params, hosts, databases)."""
