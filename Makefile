# Group CRM. The two commands a new user needs: `make run` and `make test` (see README).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cksum < pyproject.toml | cut -d' ' -f1)
DEV_ENV := DEBUG=true
# Production-shaped settings for `check --deploy` (no real secret; nothing connects).
DEPLOY_ENV := DEBUG=false SECRET_KEY=deploy-check-$(shell date +%s)-not-a-real-secret-but-long-enough-to-pass \
	ALLOWED_HOSTS=crm.example.com DATABASE_URL=postgres://crm@db.invalid:5432/crm \
	CELERY_BROKER_URL=redis://redis.invalid:6379/0

.PHONY: install messages run test fuzz bench bench-http lint clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	@rm -f $(VENV)/.installed-*
	@touch $(STAMP)

install: $(STAMP) messages

messages: $(STAMP)
	@$(DEV_ENV) $(BIN)/python manage.py compilemessages --ignore=.venv --verbosity=0

run: install
	$(DEV_ENV) $(BIN)/python manage.py runall

# Two workers: CI and this machine have two cores; the suite is xdist-safe (a database per worker).
test: install
	$(BIN)/python -m pytest -n 2

# Schema-driven fuzzing of the API, long: every phase (examples, coverage, fuzzing) and
# FUZZ_EXAMPLES per operation and caller (`make test` runs a bounded number).
FUZZ_EXAMPLES ?= 500
fuzz: install
	FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(BIN)/python -m pytest -q -n 2 tests/crm/test_fuzz_api.py

# Benchmarks at group scale into tests/bench/results.json (see tests/bench/README.md).
bench: install
	$(DEV_ENV) $(BIN)/python -m tests.bench.run

# Only the HTTP figures (gunicorn under load, connections under 50,000 requests) on the kept
# bench database; the other figures in results.json stay.
bench-http: install
	$(DEV_ENV) BENCH_ONLY=http_under_load,connections_under_load $(BIN)/python -m tests.bench.run

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy $(wildcard */services.py */selectors.py */services/*.py */selectors/*.py)
	$(BIN)/lint-imports
	$(DEV_ENV) $(BIN)/python manage.py makemigrations --check --dry-run
	$(DEPLOY_ENV) $(BIN)/python manage.py check --deploy --fail-level WARNING

clean:
	rm -rf $(VENV) var
