# The README's two commands: `make run` and `make test`. Both build .venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DEMO_DIR := $(VENV)/demo-data

.PHONY: run test bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

$(VENV)/.installed-bench: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test,bench]'
	touch $@

# Until the dashboard lands, `make run` prints the evaluation of the demo dataset.
run: $(VENV)/.installed
	@test -f $(DEMO_DIR)/labels.json || $(BIN)/detlens demo $(DEMO_DIR)
	$(BIN)/detlens evaluate --labels $(DEMO_DIR)/labels.json --predictions $(DEMO_DIR)/predictions.json \
		--images $(DEMO_DIR)/images

test: $(VENV)/.installed-test
	$(BIN)/python -m pytest -q

bench: $(VENV)/.installed-bench
	$(BIN)/python benchmarks/bench_evaluate.py
	$(BIN)/python benchmarks/bench_metrics.py

clean:
	rm -rf $(VENV) .pytest_cache
