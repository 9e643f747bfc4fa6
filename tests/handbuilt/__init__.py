"""Clusters built by hand on a lab, as a person following the documents would:
text edits over SSH in their own style (sed, or python string edits), never
the runbook's code. Used by tests/test_zx_handbuilt.py to prove `runbook
discover` adopts them."""
