"""The cluster test's parts (08): carbonlog (reading a Carbon log), artifact
(what is deployed to prove delivery, and how each worker's share is counted)
and through_lb (reaching the cluster through its load balancer)."""
