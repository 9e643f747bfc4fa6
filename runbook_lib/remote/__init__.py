"""Reaching the cluster's hosts: host (one SSH target: run, read, write),
hostkeys (strict host-key checking), sshpool (shared connections), tunnel
(SSH port forwarding), inventory (the params' hosts as Host objects), fanout
(the same work on many hosts at once), probe (one round trip for many
questions), db (MySQL through pymysql) and sqlsplit (product SQL scripts
split into statements)."""
