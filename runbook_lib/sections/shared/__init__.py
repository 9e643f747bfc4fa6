"""Building blocks the sections share: filestep (the config-file step: plan
the edits, apply them, check the values) and builders (Carbon's namespace,
the /etc/hosts operation)."""
