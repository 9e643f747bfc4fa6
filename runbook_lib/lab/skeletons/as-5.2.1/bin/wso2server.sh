#!/bin/sh
# Lab skeleton of WSO2 Application Server 5.2.1 bin/wso2server.sh, which starts the server (-DworkerNode=true for a worker).
# The WSO2 Cluster Runbook lab installs configuration-only product homes: there
# is no Java server behind this script, so it refuses to pretend to start one.
echo "This is a lab skeleton of WSO2 Application Server 5.2.1; the real server cannot run here" >&2
exit 1
