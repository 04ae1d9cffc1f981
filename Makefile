# `make study` runs the study, `make test` runs the tests; each sets up .venv itself.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: env study test lint clean-results

# The project pins Python 3.11 (pyproject.toml); say so before pip fails on another version.
$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' 2>/dev/null || { \
		echo "audio-di needs Python 3.11, and $(PYTHON) is not: install it, then" \
			"make PYTHON=python3.11 ..." >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Stamps re-install when pyproject.toml changes.
$(VENV)/.installed-study: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $@ $(VENV)/.installed-study

env: $(VENV)/.installed-study

# dvc.yaml runs snakemake in three stages (corpus, models, analysis with the report) and
# records what each produced in dvc.lock; stages whose inputs did not change are skipped.
# DVC's own lines (stage names, the `git add` hint) are left out: the run ends on the result.
study: $(VENV)/.installed-study
	@$(BIN)/dvc repro --quiet
	@cat results/summary/headline.txt
	@echo "Report: results/report.html"

# PYTEST_ARGS='-m "not slurm"' skips the one test that needs root and Slurm's packages.
PYTEST_ARGS ?=
test: $(VENV)/.installed-test
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/snakemake --lint

clean-results:
	rm -rf results data/corpus .snakemake
