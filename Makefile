# Two commands: `make run` and `make test`. Both create .venv and install on first use.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
RUN_STAMP := $(VENV)/.run-stamp
TEST_STAMP := $(VENV)/.test-stamp
PYTEST_ARGS ?=
# one pytest-xdist worker more than cores: much of the suite waits (live servers, webhook
# receivers, subprocesses), and a third worker fills those waits on a 2-core machine
TEST_WORKERS ?= $(shell echo $$(( $$(nproc) + 1 )))
BENCH_ARGS ?=
URL ?=
TOKEN ?=
ALLOW_WRITES ?=

.PHONY: install install-test run test lint format contract contract-deep bench parity clean

$(PY):
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is required"'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(RUN_STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e .
	touch $(RUN_STAMP)

$(TEST_STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(RUN_STAMP) $(TEST_STAMP)

install: $(RUN_STAMP)

install-test: $(TEST_STAMP)

run: install
	$(VENV)/bin/mockserver serve --host 127.0.0.1 --port 8000 --seed demo

lint: install-test
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: install-test
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

test: install-test lint
	$(PY) -m pytest -n $(TEST_WORKERS) --dist loadscope --durations=15 $(PYTEST_ARGS)

# The contract suite against a live server: exit 0 iff every check passes; no writes
# unless ALLOW_WRITES=1.  make contract URL=http://127.0.0.1:8000 TOKEN=demo-token
contract: install-test
	@test -n "$(URL)" || (echo "usage: make contract URL=<base url> TOKEN=<token> [ALLOW_WRITES=1]" && exit 2)
	$(PY) -m pytest contract_tests -p no:cacheprovider --base-url "$(URL)" --token "$(TOKEN)" \
		$(if $(filter 1 true yes,$(ALLOW_WRITES)),--allow-writes,)

# Thousands of generated cases against the in-process emulator (or URL=... TOKEN=...).
contract-deep: install-test
	$(PY) -m pytest contract_tests --contract-examples 1000 \
		$(if $(URL),--base-url "$(URL)" --token "$(TOKEN)",) \
		$(if $(filter 1 true yes,$(ALLOW_WRITES)),--allow-writes,)

# The performance table (every row measured in this run, on this machine).
bench: install-test
	$(PY) -m load_tests.bench $(BENCH_ARGS)

# Replay recorded cassettes against an emulator as a contract: exit 0 iff no difference.
# make parity CASSETTES=cassettes/run1 [URL=http://127.0.0.1:8000]
parity: install
	@test -n "$(CASSETTES)" || (echo "usage: make parity CASSETTES=<folder> [URL=<emulator>]" && exit 2)
	$(VENV)/bin/mockserver parity $(CASSETTES) --url "$(or $(URL),http://127.0.0.1:8000)"

clean:
	rm -rf $(VENV) mockserver-data build *.egg-info reports
