"""02's parts: certs (a key, CSR and certificate per host name on the load
balancer host, and the HTTPS vhosts' checks) and truststore (the load
balancer's certificates in each node's client-truststore.jks)."""
