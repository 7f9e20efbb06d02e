# The README's commands. Each target installs what it needs first.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# One stamp per content of both requirement files: editing either reinstalls.
REQ_HASH := $(shell cat requirements.txt requirements-dev.txt | sha1sum | cut -c1-12)
STAMP := $(VENV)/.installed-$(REQ_HASH)
# Without DATABASE_URL, an embedded PostgreSQL in .data/ is started.
DB_ENV = export DATABASE_URL="$${DATABASE_URL:-$$($(PY) -m saas.embedded start)}"
ARGS ?=
PORT ?= 8000

.PHONY: install run test test-fast lint format bench system-deps clean

$(STAMP): requirements.txt requirements-dev.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements-dev.txt
	@rm -f $(VENV)/.installed-* && touch $(STAMP)

install: $(STAMP)

system-deps:
	@bash scripts/system-deps.sh

# Local development: DEBUG on (no SECRET_KEY needed) unless the caller says otherwise.
run: install
	@export DEBUG=$${DEBUG:-1} && $(DB_ENV) && \
	$(PY) manage.py migrate --noinput -v 0 && \
	$(PY) manage.py seed_demo && \
	$(PY) manage.py collectstatic --noinput -v 0 && \
	echo "Serving http://demo.localhost:$(PORT)  (sign in: admin@demo.example / demo-password-1)" && \
	PUBLIC_PORT=$${PUBLIC_PORT:-$(PORT)} $(PY) manage.py runserver 0.0.0.0:$(PORT)

# A Redis that test-env.sh had to start is stopped again, whatever the outcome.
test: install system-deps
	@$(DB_ENV) && source scripts/test-env.sh && \
	{ $(PY) -m pytest -n $${TEST_WORKERS:-2} $(ARGS); status=$$?; source scripts/stop-redis.sh; exit $$status; }

lint: install
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

format: install
	$(PY) -m ruff format .
	$(PY) -m ruff check --fix .

bench: install system-deps
	@$(DB_ENV) && source scripts/test-env.sh && \
	{ $(PY) -m benchmarks $(ARGS); status=$$?; source scripts/stop-redis.sh; exit $$status; }

# Everything `make run`/`make test` create here: the embedded cluster, the generated role
# secret and operator backups (.data/), exports (media/), collected static files, test output.
clean:
	-$(PY) -m saas.embedded stop
	-@bash scripts/stop-redis.sh .data/redis/redis.pid
	rm -rf .data artifacts media staticfiles
