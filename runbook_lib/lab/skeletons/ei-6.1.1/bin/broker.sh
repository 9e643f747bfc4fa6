#!/bin/sh
# Lab skeleton of WSO2 Enterprise Integrator 6.1.1 bin/broker.sh, which starts the message broker profile (carbon home wso2/broker).
# The WSO2 Cluster Runbook lab installs configuration-only product homes: there
# is no Java server behind this script, so it refuses to pretend to start one.
echo "This is a lab skeleton of WSO2 Enterprise Integrator 6.1.1 (message broker profile); the real server cannot run here" >&2
exit 1
