#!/bin/sh
# Lab skeleton of WSO2 Elastic Load Balancer 2.0.5 bin/wso2server.sh, which starts the load balancer.
# The WSO2 Cluster Runbook lab installs configuration-only product homes: there
# is no Java server behind this script, so it refuses to pretend to start one.
echo "This is a lab skeleton of WSO2 Elastic Load Balancer 2.0.5; the real server cannot run here" >&2
exit 1
