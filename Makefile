# threatgraph developer tasks. `make demo` and `make test` are the two README commands.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
OUT    ?= out

.PHONY: demo test test-fast lint typecheck fmt bench docs clean venv

$(BIN)/threatgraph: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $@

venv: $(BIN)/threatgraph

## demo: install, check the example models, write reports and diagrams to $(OUT)/
demo: venv
	$(BIN)/threatgraph threats lint --no-fixtures
	@# Exit 1 means "open findings at or above the gate": expected for the examples.
	$(BIN)/threatgraph check models/ || [ $$? -eq 1 ]
	$(BIN)/threatgraph report models/ -o $(OUT) || [ $$? -eq 1 ]
	@echo "reports written to $(OUT)/ (open $(OUT)/index.html)"

## test: the whole test suite (lint of the library and every rule fixture included)
test: venv
	$(BIN)/python -m pytest

## test-fast: the suite without the tests marked slow (pre-commit end to end, ~100 s)
test-fast: venv
	$(BIN)/python -m pytest -m "not slow"

## lint: ruff (lint and format) and the import-linter contracts of the layers (pyproject.toml)
lint: venv
	$(BIN)/ruff check src tests bench tools
	$(BIN)/ruff format --check src tests bench tools
	$(BIN)/lint-imports --no-cache

typecheck: venv
	$(BIN)/mypy

fmt: venv
	$(BIN)/ruff format src tests bench tools
	$(BIN)/ruff check --fix src tests bench tools

bench: venv
	$(BIN)/python bench/run.py

docs: venv
	$(BIN)/python tools/gen_docs.py

clean:
	rm -rf $(VENV) $(OUT) .pytest_cache .mypy_cache .ruff_cache
