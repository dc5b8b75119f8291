# seqnn: `make run` runs the default workflow, `make test` runs the test suite.
# Both create .venv when it is missing or older than pyproject.toml.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
CORES  ?= 2

.PHONY: run test lint bench clean help slurm-check

help:
	@echo "make run    set up .venv and run the default workflow (snakemake --cores $(CORES))"
	@echo "make test   set up .venv and run the test suite"
	@echo "make lint   ruff check and lint-imports (the package's layers, pyproject.toml)"
	@echo "make slurm-check  (root) the tiny workflow on a single-node Slurm started here"

$(BIN)/seqnn: pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(BIN)/seqnn

run: $(BIN)/seqnn
	$(BIN)/snakemake --cores $(CORES)

test: $(BIN)/seqnn
	$(BIN)/python -m pytest

lint: $(BIN)/seqnn
	$(BIN)/ruff check seqnn tests benchmarks
	$(BIN)/lint-imports

slurm-check: $(BIN)/seqnn
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[slurm]'
	PYTHON=$(BIN)/python bash benchmarks/slurm_check.sh

clean:
	rm -rf results logs .snakemake
