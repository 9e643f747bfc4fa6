"""07's parts, the message broker's own: broker_files (broker.xml,
qpid-config.xml, hazelcast.properties, log4j.properties, carbon.xml's Offset;
the MB store and clock checks), broker_runtime (starting the brokers and
proving their cluster) and broker_health (the message store's health as each
broker's console reports it)."""
