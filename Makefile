# WSO2 Cluster Runbook. Two commands for a fresh Debian 12 machine, as root:
#   make demo   bring the lab up and run the runbook against it
#   make test   run the whole test suite (brings the lab up and down itself)
# Both install what they need and are safe to run again.

SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
DEB_PACKAGES := openssh-server openssh-client mariadb-server mariadb-client nginx subversion \
	default-jre-headless libmariadb-java iproute2 util-linux sudo curl chromium python3 openssl
STAMP := $(VENV)/.installed
JLAB_OVERRIDES := $(VENV)/share/jupyter/lab/settings/overrides.json

.PHONY: demo test deps venv bytecode lab-up lab-down lab-status jupyter record bench clean

demo: venv
	$(BIN)/runbook lab up params/lab.yaml
	$(BIN)/runbook run params/lab.yaml --apply
	@echo
	@$(BIN)/python -c 'from runbook_lib.sections.cluster.traffic import spread_report; print(spread_report("params/lab.yaml"))'
	@echo
	@echo "The lab is still up. Step through the same runbook in JupyterLab:  make jupyter"
	@echo "(then open notebooks/00_preflight.ipynb; kernel 'WSO2 runbook (.venv)')"
	@echo "Take the lab down with:                                          make lab-down"

# Lab tests run in TEST_WORKERS processes side by side (pytest-xdist), each on
# a lab instance of its own (tests/conftest.py: groups, instances); the default
# lab is not touched. TEST_WORKERS=0 runs everything in one process, in order,
# on the default lab, as before.
TEST_WORKERS ?= 8
test: venv
	RUNBOOK_FRESH_LAB=1 $(BIN)/python -m pytest -ra --durations=30 $(if $(filter 0,$(TEST_WORKERS)),,-n $(TEST_WORKERS) --dist loadgroup) tests

# Debian packages the lab needs. policy-rc.d keeps apt from starting the
# machine's own MariaDB, nginx or sshd services: the lab runs its own copies.
deps:
	@missing=""; for p in $(DEB_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		guard=0; if [ ! -e /usr/sbin/policy-rc.d ]; then printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d; guard=1; fi; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; rc=$$?; \
		if [ $$guard = 1 ]; then rm -f /usr/sbin/policy-rc.d; fi; exit $$rc; \
	else echo "Debian packages: all present"; fi

venv: deps $(STAMP) $(JLAB_OVERRIDES) bytecode

# The project's own modules compiled once (only those changed since): with
# PYTHONDONTWRITEBYTECODE set, as on some machines, every kernel, CLI and
# stand-in start compiled them again (0.7 s -> 0.4 s for a kernel's imports).
bytecode: | $(STAMP)
	@$(BIN)/python -m compileall -q runbook_lib

# The project's JupyterLab asks for no news and no update checks (their pop-up
# covers table columns): a settings override in the venv, never the user's home.
$(JLAB_OVERRIDES): jupyter/overrides.json | $(STAMP)
	install -D -m 0644 $< $@

# uv installs the same packages as pip in about 9 s instead of about 36 s (a
# clean clone's make test builds this venv each time); pip is the fallback
# when uv cannot be had or cannot reach the index. --compile-bytecode as pip
# does: where PYTHONDONTWRITEBYTECODE is set, nothing else would write the
# .pyc files and every process would compile every module it imports.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	{ $(BIN)/pip install -q uv && $(BIN)/uv pip install -q --compile-bytecode --python $(BIN)/python -e . ; } || \
		{ echo "uv failed: installing with pip"; $(BIN)/pip install -q --upgrade pip && $(BIN)/pip install -q -e . ; }
	$(BIN)/python -m ipykernel install --sys-prefix --name wso2-runbook --display-name "WSO2 runbook (.venv)" >/dev/null
	touch $(STAMP)

lab-up: venv
	$(BIN)/runbook lab up params/lab.yaml
lab-down: venv
	$(BIN)/runbook lab down params/lab.yaml
lab-status: venv
	$(BIN)/runbook lab status params/lab.yaml

jupyter: venv
	$(BIN)/jupyter lab --allow-root --no-browser --ip=127.0.0.1 --ServerApp.root_dir=$(CURDIR)

# Re-record the committed notebooks' outputs: a plan-only run on a fresh lab
# (what `make test` replays with nbval). Plan-only, so a committed notebook
# opened and run by an operator shows the plan and changes nothing. Then the
# whole runbook applied, and 08's executed notebook kept (with its injected
# apply = True) as tests/nbval/08_test_cluster.ipynb: nbval replays it on a lab.
record: venv
	$(BIN)/runbook lab down params/lab.yaml
	$(BIN)/runbook lab up params/lab.yaml
	rm -rf runs/record
	$(BIN)/runbook run params/lab.yaml --out runs/record || [ $$? -eq 2 ]  # 2: plan only, changes to make (a fresh lab)
	$(BIN)/runbook publish runs/record
	# 08 applied on the same lab (after 00-07 applied): the nbval fixture tests/nbval/ replays on a lab
	rm -rf runs/record-applied
	$(BIN)/runbook run params/lab.yaml --apply --out runs/record-applied
	$(BIN)/python -c 'from runbook_lib.run.runner import publish; publish("runs/record-applied", "tests/nbval", "08_*", keep_parameters=True)'
	$(BIN)/runbook lab down params/lab.yaml

# Speed (issue 10): the lab's own figures, then 1 manager + 4 and 32 workers
# (plan only, first and second apply per section) beside the SSH floor.
# Brings labs up and down itself: hold the lab lock when the lab is shared.
bench: venv
	$(BIN)/python benchmarks/bench_lab.py
	$(BIN)/python benchmarks/bench_scale.py --workers 4 32 128 --cluster-test 4 32
	$(BIN)/python benchmarks/bench_cluster_test.py
	$(BIN)/python benchmarks/bench_rolling.py

clean: lab-down
	rm -rf $(VENV) runs
