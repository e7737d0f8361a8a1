# The two commands a newcomer needs: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
HOST   ?= 127.0.0.1
PORT   ?= 8000
TEST_WORKERS ?= 2

.PHONY: bootstrap run test bench openapi clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Stoplist needs Python 3.11 or newer; set PYTHON=python3.11")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,bench]'
	@touch $(STAMP)

## bootstrap: create .venv and install Stoplist with its test tools
bootstrap: $(STAMP)

## run: migrate the embedded database and serve on http://$(HOST):$(PORT)
run: bootstrap
	$(BIN)/stoplist serve --host $(HOST) --port $(PORT) --bootstrap-token

## test: run the whole suite (TEST_WORKERS=1 for one process; the server tests share one worker either way)
test: bootstrap
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadgroup

## bench: measure against bare baselines (1,000,000 rows) and rewrite docs/benchmarks.md
bench: bootstrap
	@bash bench/tools.sh
	$(BIN)/python bench/run.py $(BENCH_ARGS)

FUZZ_EXAMPLES ?= 500
FUZZ_SEED     ?= random
.PHONY: fuzz
## fuzz: fuzz a live server on both databases, 500 cases per operation from a fresh seed (FUZZ_EXAMPLES=N, FUZZ_SEED=N to replay)
fuzz: bootstrap
	STOPLIST_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) STOPLIST_FUZZ_SEED=$(FUZZ_SEED) $(BIN)/python -m pytest tests/fuzz --runxfail -p no:cacheprovider $(FUZZ_ARGS)

## openapi: rewrite openapi/openapi.json from the app
openapi: bootstrap
	$(BIN)/python -m stoplist.openapi openapi/openapi.json

clean:
	rm -rf $(VENV) .pytest_cache
