"""The lab: a multi-host cluster environment on one machine (network
namespaces, real sshd, MariaDB, nginx, svnserve). control.py brings it up
and down, health.py says what is up, paths.py where it keeps its files.

Nothing is imported here: the params checks ask homes.py which skeleton a
version is built on, and the lab's own modules import the params."""
