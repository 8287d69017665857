# make run   set everything up and start ooc on the embedded SQLite database with demo data
# make test  set everything up and run the tests (SQLite, and PostgreSQL when it is installed)

VENV := .venv
PY := $(VENV)/bin/python
OOC := $(VENV)/bin/ooc
DEMO_CASES ?= 300

.PHONY: run test setup bench lint clean

GOVUK := web/frontend/node_modules/govuk-frontend/dist/govuk
SWAGGER_UI := web/frontend/node_modules/swagger-ui-dist

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $@

# GOV.UK Frontend's own assets, and Swagger UI for the API docs (/api/v1/docs works offline),
# from the npm registry, copied where the application serves them.
web/static/.built: web/frontend/package.json web/frontend/package-lock.json web/static_src/ooc.css web/static_src/quorum.js web/static_src/print.js web/static_src/reveal.js web/static_src/govuk-init.js web/static_src/api-docs.js
	cd web/frontend && npm ci --no-audit --no-fund --loglevel=error
	rm -rf web/static && mkdir -p web/static/govuk web/static/swagger-ui
	cp -R $(GOVUK)/govuk-frontend.min.css $(GOVUK)/govuk-frontend.min.js $(GOVUK)/assets web/static/govuk/
	cp $(SWAGGER_UI)/swagger-ui.css $(SWAGGER_UI)/swagger-ui-bundle.js $(SWAGGER_UI)/favicon-32x32.png web/static/swagger-ui/
	cp web/static_src/ooc.css web/static_src/quorum.js web/static_src/print.js web/static_src/reveal.js \
	   web/static_src/govuk-init.js web/static_src/api-docs.js web/static/
	touch $@

setup: $(VENV)/.installed web/static/.built

run: setup
	$(OOC) init
	$(OOC) demo --cases $(DEMO_CASES) --seed 1 --if-empty
	$(OOC) status
	$(OOC) serve --host 127.0.0.1 --port 8000

test: setup
	$(PY) -m pytest

bench: setup
	$(PY) bench/engine.py
	$(PY) bench/web.py
	$(PY) bench/metrics.py
	$(PY) bench/imports.py

lint: setup
	$(PY) -m ruff check ooc web tests bench migrations

clean:
	rm -rf $(VENV) var .pytest_cache .hypothesis
