"""The notebooks' steps. Each notebook imports one module here, named for its
section, and its cells call only that module's functions:

    00_preflight        preflight.py
    01_load_balancer    load_balancer.py
    02_certificates     certificates.py
    03_databases        databases.py
    04_registry_mount   registry_mount.py
    05_manager          manager.py
    06_workers          workers.py
    07_broker           broker.py
    08_test_cluster     cluster_trial.py

These entry modules are thin: they say which helpers a step uses and for which
nodes. The helpers live in packages grouped by concern:

    hosts/        preflight's checks of each host, and the hosts' clocks (00, 07)
    lb/           nginx and the WSO2 ELB (01, 02's TLS vhosts, the rolling apply's drain)
    tls/          certificates and the nodes' truststores (02)
    db/           the database server's databases and user, the JDBC driver (03)
    nodes/        each node's files: clustering, datasources, registry, secrets
                  at rest, deployment synchronisation (SVN, rsync) (04-07)
    securevault/  Secure Vault written without a JVM (nodes/secrets_at_rest.py's parts)
    messaging/    the message broker's own files, its start and its health (07)
    cluster/      starting the nodes, membership, traffic and the test artifact (08)
    shared/       the config-file step and the carbon.xml namespace (all)
"""
