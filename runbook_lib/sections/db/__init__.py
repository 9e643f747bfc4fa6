"""03's parts: server (the databases, the products' SQL scripts, the
application user and its grants on the database server) and jdbc_driver (the
driver jar on every node, and the URL scheme it accepts)."""
