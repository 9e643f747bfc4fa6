"""The notebooks' steps. Each module here is what a notebook calls (cells
call it, nothing else lives in a cell); a module serving several notebooks
takes the node roles as an argument:

    00_preflight        preflight
    01_load_balancer    load_balancer
    02_certificates     certificates, truststore
    03_databases        databases, jdbc_driver
    04_registry_mount   registry_mount, datasources
    05_manager          clustering, svn            (roles MANAGER)
    06_workers          clustering, svn            (roles WORKERS)
    07_broker           broker, broker_runtime; clustering, registry_mount, datasources (roles BROKERS)
    08_test_cluster     cluster_check, cluster_traffic

Helpers no notebook calls live in subpackages: shared/ (the config-file
step), lb/ (nginx and the WSO2 ELB), cluster/ (08's log reading, test
artifact and way in through the load balancer)."""
