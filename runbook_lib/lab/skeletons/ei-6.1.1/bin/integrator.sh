#!/bin/sh
# Lab skeleton of WSO2 Enterprise Integrator 6.1.1 bin/integrator.sh, which starts the integrator profile.
# The WSO2 Cluster Runbook lab installs configuration-only product homes: there
# is no Java server behind this script, so it refuses to pretend to start one.
echo "This is a lab skeleton of WSO2 Enterprise Integrator 6.1.1 (integrator profile); the real server cannot run here" >&2
exit 1
