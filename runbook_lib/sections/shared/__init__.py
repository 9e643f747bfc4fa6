"""Building blocks the sections share: filestep (the config-file step: plan
the edits, apply them, check the values; HostsStep for /etc/hosts) and
namespaces (carbon.xml's XML namespace)."""
