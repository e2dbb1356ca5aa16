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

# The dashboard on the embedded demo: http://127.0.0.1:8050/
run: $(VENV)/.installed
	$(BIN)/detlens serve

test: $(VENV)/.installed-test
	sh tests/browser/ensure_chromium.sh
	sh tests/ensure_redis.sh
	$(BIN)/python -m pytest -q

bench: $(VENV)/.installed-bench
	sh tests/browser/ensure_chromium.sh
	sh tests/ensure_redis.sh
	$(BIN)/python benchmarks/bench_evaluate.py
	$(BIN)/python benchmarks/bench_metrics.py
	$(BIN)/python benchmarks/bench_statistics.py
	$(BIN)/python benchmarks/bench_dashboard.py
	$(BIN)/python benchmarks/bench_demo.py
	$(BIN)/python benchmarks/bench_load.py

clean:
	rm -rf $(VENV) .pytest_cache
