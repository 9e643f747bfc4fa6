"""Each node's own files, shared by 04-07 (each takes the node roles it works
on): clustering (axis2.xml, carbon.xml, catalina-server.xml, /etc/hosts and
the start commands), datasources (master-datasources.xml), registry
(registry.xml and user-mgt.xml), secrets_at_rest (Secure Vault and file
modes; its parts in securevault/), svn and rsync_sync (deployment
synchronisation)."""
