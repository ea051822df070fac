# The two commands: `make run` (the whole pipeline on sample exports) and `make test` (the test suite).
# Both create or reuse a project-local virtualenv; they need only Python 3.11 and the package registry.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat requirements.lock pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: run test test-slow lint bench docs airflow metrics bi bi-install clean-dw install

install: $(STAMP)

$(STAMP): requirements.lock pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else "Python 3.11 is required, found " + sys.version)'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install -q --disable-pip-version-check uv==0.13.9
	@echo "Installing pinned dependencies into $(VENV) (first time: about a minute) ..."
	@VIRTUAL_ENV=$(VENV) $(BIN)/uv pip install -q --compile-bytecode -r requirements.lock
	@rm -f $(VENV)/.installed-* && touch $(STAMP)

run: $(STAMP)
	@$(BIN)/python -m pipeline run

# the suite without the long variants (marker slow); CI (.ci/run) runs both
test: $(STAMP)
	@$(BIN)/python -m pytest -m "not slow"

# the long variants: BI and Superset, the report in Chromium, the Airflow UI, fault injection, large files, the
# multi-day backfill and the further incremental scenarios
test-slow: $(STAMP)
	@$(BIN)/python -m pytest -m slow

# A quick subset for the edit-test loop (no Airflow run, no dbt build): DAG wiring, feed contract, readers and
# coercion (property tests), database start-up, mail. `make test` stays the gate.
test-fast: $(STAMP)
	@$(BIN)/python -m pytest -q tests/test_dag_files.py tests/test_feed_contract.py tests/test_properties.py \
		tests/test_database.py tests/test_mail.py

# Benchmarks at scale (ROWS over all feeds; 10000000 takes 20-25 minutes once its inbox is written, which the
# first run does: 27 s at 1000000): results in bench/results/
ROWS ?= 1000000
bench: $(STAMP)
	@$(BIN)/python -m bench --rows $(ROWS) $(BENCH_ARGS)

# Python with ruff; SQL with sqlfluff (dbt templater, so on an embedded PostgreSQL of its own port, which a running
# `make test` does not hold; the same check runs in make test)
lint: $(STAMP)
	@$(BIN)/ruff check .
	@$(BIN)/ruff format --check .
	@DW_TEST_PG_PORT=54338 $(BIN)/python -m pytest -q -p no:cacheprovider tests/test_dbt_project.py -k sqlfluff

# The documentation site, readable offline (after make run): dbt docs with the rules catalogue, and GX Data Docs
# with their scripts served from the site. Writes $(DW_HOME or .dw)/docs_site/index.html.
docs: $(STAMP)
	@$(BIN)/python -m pipeline.docs_site

# Airflow's own UI on 127.0.0.1:$(DW_AIRFLOW_PORT or 8080) for the local warehouse (after make run), until Ctrl-C.
airflow: $(STAMP)
	@$(BIN)/python -m pipeline.airflow_ui

# The semantic layer on the local warehouse (after make run): any metrics by any dimensions, as MetricFlow names them
# (`.venv/bin/python -m pipeline.metrics list` shows them), e.g. make metrics METRICS=churn_rate BY=metric_time__quarter
METRICS ?= renewal_rate
BY ?= store__store_code,metric_time__month
metrics: $(STAMP)
	@$(BIN)/python -m pipeline.metrics query --metrics $(METRICS) --group-by $(BY)

# Apache Superset on the marts (after make run): the dashboards of bi/dashboards, on 127.0.0.1:$(DW_BI_PORT or 8188),
# until Ctrl-C. Superset gets a virtualenv of its own (.venv-bi, bi/requirements.lock): its pins clash with Airflow's.
BI_VENV := .venv-bi
BI_STAMP := $(BI_VENV)/.installed-$(shell cat bi/requirements.lock | cksum | cut -d' ' -f1)

bi-install: $(BI_STAMP)

$(BI_STAMP): bi/requirements.lock $(STAMP)
	@test -x $(BI_VENV)/bin/python || $(PYTHON) -m venv $(BI_VENV)
	@echo "Installing Apache Superset into $(BI_VENV) (first time: about a minute) ..."
	@VIRTUAL_ENV=$(BI_VENV) $(BIN)/uv pip install -q --compile-bytecode -r bi/requirements.lock
	@rm -f $(BI_VENV)/.installed-* && touch $(BI_STAMP)

bi: $(STAMP) $(BI_STAMP)
	@$(BIN)/python -m pipeline.bi

# Stop the embedded PostgreSQL and delete the project-local warehouse (.dw/).
clean-dw: $(STAMP)
	@$(BIN)/python -m pipeline db stop || true
	@rm -rf .dw
