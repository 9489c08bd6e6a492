# The two set-up commands (README): `make run` and `make test`.
# Both install what they need on a fresh Debian machine and are safe to run twice.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: install system-deps test lint run stop bench clean

install: system-deps $(VENV)/.installed

# PostgreSQL server binaries, docker-compose (offline config check), Chromium (browser
# tests through Playwright; its own browser download does not work here) and redis-server (the
# Celery broker tests/test_e2e_celery.py starts).
system-deps:
	@missing=""; \
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing="$$missing postgresql"; \
	command -v redis-server >/dev/null || missing="$$missing redis-server"; \
	command -v docker-compose >/dev/null || missing="$$missing docker-compose"; \
	[ -x /usr/bin/chromium ] || missing="$$missing chromium"; \
	if [ -n "$$missing" ]; then \
		echo "installing system packages:$$missing"; \
		$(SUDO) apt-get update -q && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q $$missing; \
	fi

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	# the build leaves plugins/*.egg-info, which Airflow would find as a second outcall distribution
	rm -rf plugins/*.egg-info
	touch $@

test: install lint
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/pytest

lint: install
	$(BIN)/ruff check .

run: install
	PATH="$(CURDIR)/$(BIN):$$PATH" bash tools/run.sh

# Stops what `make run` started (also a run killed midway): tasks, Airflow, the sandbox, then PostgreSQL.
stop:
	@bash tools/stop.sh

bench: install
	for b in bench/*.py; do PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python $$b || exit 1; done

clean: stop
	rm -rf $(or $(OUTCALL_RUN_DIR),.run)
