# CadCam Masters: `make run` serves the whole stack with demo data, `make test` runs every test.
# With DATABASE_URL / REDIS_URL unset, both use an embedded PostgreSQL and Redis under .data/.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.requirements-installed
EMBEDDED := $(BIN)/python -m cadcam.embedded --
export DJANGO_DEBUG ?= true
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: run test serve lint migrate seed clean-data manage

run: $(STAMP)
	$(EMBEDDED) $(MAKE) --no-print-directory serve

# make manage ARGS="reconcile": a management command next to `make run`, on its database and Redis (it attaches to
# them and never stops them; with no stack running it starts them for the command alone).
manage: $(STAMP)
	$(EMBEDDED) $(BIN)/python manage.py $(ARGS)

test: $(STAMP)
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/lint-imports --no-logo

# The steps of `make run` once the database and Redis exist (called through the embedded wrapper).
serve:
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py seed_demo
	$(BIN)/honcho --procfile Procfile.dev start

# The virtualenv is (re)built only when a requirements file changed since the last install.
$(STAMP): requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

clean-data:
	rm -rf .data
