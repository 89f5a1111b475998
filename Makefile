# Two entry points for a fresh machine with Python 3.11+ (see README):
#   make run   - create .venv, install, launch the app on the bundled sample study
#   make test  - create .venv, install with test extras, run the whole suite
#   make test-headless - every test not marked `qt`, in .venv-headless where PySide6,
#                shiboken6 and pytest-qt are NOT installed (the Qt-free layers stay Qt-free)
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HEADLESS_VENV ?= .venv-headless
HBIN := $(HEADLESS_VENV)/bin
SAMPLE ?= sample_dicom/case-0001 sample_dicom/variants

.PHONY: run test test-headless bench lint clean-venv

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[test,bench,dev]"
	touch $@

$(HEADLESS_VENV)/.installed: pyproject.toml setup.py
	$(PYTHON) -m venv $(HEADLESS_VENV)
	$(HBIN)/python -m pip install --quiet --upgrade pip
	$(HBIN)/python -m pip install --quiet -e ".[test]"
	$(HBIN)/python -m pip uninstall --quiet -y PySide6-Essentials shiboken6 pytest-qt
	touch $@

run: $(VENV)/.installed
	$(BIN)/ovcf-viewer $(SAMPLE)

test: $(VENV)/.installed
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -q

# Fails if Qt is importable there, if a non-qt test imports it, or if one skips for want of it.
test-headless: $(HEADLESS_VENV)/.installed
	@$(HBIN)/python -c "import importlib.util as u, sys; \
	found = [m for m in ('PySide6', 'shiboken6', 'pytestqt') if u.find_spec(m)]; \
	sys.exit(f'{found} installed in $(HEADLESS_VENV): not a headless run' if found else 0)"
	OVCF_VIEWER_HEADLESS=1 $(HBIN)/python -m pytest -q -p no:cacheprovider -m "not qt" \
		--ignore=tests/qt

bench: $(VENV)/.installed
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m ovcf_viewer.bench

lint: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports

clean-venv:
	rm -rf $(VENV) $(HEADLESS_VENV)
