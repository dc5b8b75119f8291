# seqnn: `make run` runs the default workflow, `make test` runs the test suite.
# Both create .venv when it is missing or older than pyproject.toml.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
CORES  ?= 2

.PHONY: run test lint bench clean help slurm-check docs-example

help:
	@echo "make run    set up .venv and run the default workflow (snakemake --cores $(CORES))"
	@echo "make test   set up .venv and run the test suite"
	@echo "make lint   ruff check, lint-imports (the package's layers) and mkdocs build --strict"
	@echo "make docs-example  rerun examples/amp_tiny; rewrite the example's numbers in README and docs/"
	@echo "make slurm-check  (root) the tiny workflow on a single-node Slurm started here"

$(BIN)/seqnn: pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev,docs]'
	touch $(BIN)/seqnn

run: $(BIN)/seqnn
	$(BIN)/snakemake --cores $(CORES)

test: $(BIN)/seqnn
	$(BIN)/python -m pytest

lint: $(BIN)/seqnn
	$(BIN)/ruff check seqnn tests benchmarks
	$(BIN)/lint-imports
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --quiet

# README's verdict line and example tables, docs/report.png and docs/example_numbers.json,
# from one run of examples/amp_tiny (tests/test_docs_numbers.py checks they agree)
docs-example: $(BIN)/seqnn
	$(BIN)/python benchmarks/docs_example.py --cores $(CORES)

slurm-check: $(BIN)/seqnn
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[slurm]'
	PYTHON="$(CURDIR)/$(BIN)/python" bash benchmarks/slurm_check.sh

clean:
	rm -rf results logs .snakemake
