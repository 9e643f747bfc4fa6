"""One module per runbook section: each builds the section's Plan (operations
that return Changes) and its Checks (verification against the live hosts).
Notebooks call these; no logic lives in notebook cells."""
