"""08's parts: lifecycle (starting and stopping nodes, membership, how a
step of 08 runs), traffic (the console, deploying the test artifact,
requests through the load balancer, routing around a stopped worker),
undeploy (removing the artifact), carbonlog (reading a Carbon log), artifact
(what is deployed and how each worker's share is counted), through_lb
(reaching the cluster through its load balancer), routing (waiting until the
load balancer routes again), startfaults (what a start-up ERROR means) and
proof (the evidence for the run report)."""
