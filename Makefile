# Two entry points for a fresh machine with Python 3.11+ (see README):
#   make run   - create .venv, install, launch the app on the bundled sample study
#   make test  - create .venv, install with test extras, run the whole suite
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
SAMPLE ?= sample_dicom/case-0001 sample_dicom/variants

.PHONY: run test bench lint clean-venv

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[test,bench,dev]"
	touch $@

run: $(VENV)/.installed
	$(BIN)/ovcf-viewer $(SAMPLE)

test: $(VENV)/.installed
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -q

bench: $(VENV)/.installed
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m ovcf_viewer.bench

lint: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports

clean-venv:
	rm -rf $(VENV)
