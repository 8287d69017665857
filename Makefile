# make run   set everything up and start ooc on the embedded SQLite database with demo data
# make test  set everything up and run the tests (SQLite, and PostgreSQL when it is installed)

VENV := .venv
PY := $(VENV)/bin/python
OOC := $(VENV)/bin/ooc
DEMO_CASES ?= 300

.PHONY: run test setup bench lint clean

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $@

setup: $(VENV)/.installed

run: setup
	$(OOC) init
	$(OOC) demo --cases $(DEMO_CASES) --seed 1 --if-empty
	$(OOC) status

test: setup
	$(PY) -m pytest

bench: setup
	$(PY) bench/engine.py

lint: setup
	$(PY) -m ruff check ooc tests bench migrations

clean:
	rm -rf $(VENV) var .pytest_cache .hypothesis
