"""The lab's STAND-IN of a WSO2 Carbon node (not WSO2 code).

WSO2 itself cannot run in the lab, so `runbook lab up` replaces the product
home's start scripts (bin/wso2server.sh, bin/integrator.sh, bin/broker.sh)
with a launcher that runs this package. It reads the node's own files
(axis2.xml, carbon.xml, catalina-server.xml, master-datasources.xml,
registry.xml, user-mgt.xml, loadbalancer.conf) and shows what a real Carbon
4.4 node shows the outside world, as collected in ../shared/CARBON-RUNTIME.md:
its log lines in Carbon's layout, its ports, the console login page, the
/services listing, cluster membership, hot deployment of proxies, the SVN
deployment synchronizer and the WSO2 ELB's routing. Where the real product
would fail, it fails. Every line it writes where a real node writes nothing
carries "[stand-in]".

Modules, one job each: product (facts per product and profile), carbonlog
(log writer), config (reading the node's files), datasources (connect
checks), httpd (servlet and PassThrough ports), membership (WKA clustering),
deployment (proxy hot deployment), depsync (SVN synchronizer), elb (the ELB),
node (the node object other modules use), launcher (what lab up writes into
bin/), main (start, stop, run).
"""
