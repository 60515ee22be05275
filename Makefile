# socialsite: `make run` serves the embedded default on http://127.0.0.1:8000 (one Daphne); `make serve` the
# production shape (nginx, gunicorn, Daphne); `make test` runs the suite.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
SEARCH_CONTRACT := tests/search/api/test_search.py tests/search/commands/test_reindex.py tests/search/test_completion_names.py

.PHONY: run serve test fuzz install install-dev migrate worker beat demo lint format check-deploy browsers clean

$(VENV)/bin/activate:
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "Python 3.11 is needed (set PYTHON=...)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(VENV)/.installed: requirements.txt | $(VENV)/bin/activate
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt | $(VENV)/bin/activate
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

migrate: install
	$(PY) manage.py migrate --noinput

# socialsite.serve: Daphne, with a graceful SIGTERM (docs/realtime.md, "Shutting down").
run: migrate
	$(PY) manage.py collectstatic --noinput --verbosity 0
	$(PY) -m socialsite.serve -b $(HOST) -p $(PORT) socialsite.asgi:application

# The production shape on this machine (docs/operations.md "Serving"): nginx on PORT, gunicorn for pages
# and REST, Daphne for /ws/, SSE and long-poll, Celery worker + beat with CELERY_BROKER_URL. Ctrl-C stops all.
serve: migrate
	$(PY) manage.py collectstatic --noinput --verbosity 0
	$(PY) -m socialsite.production --host $(HOST) --port $(PORT)

test: install-dev
	$(PY) manage.py makemigrations --check --dry-run
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports  # the layers of docs/architecture.md, contracts in pyproject.toml
	$(VENV)/bin/mypy  # types: strict for the modules listed in pyproject.toml ([tool.mypy]), docs/architecture.md
	@# On PostgreSQL + Redis (the production paths) the whole suite runs under coverage, with the processes it
	@# starts, and each app must stay at or above its floor (pyproject.toml, docs/architecture.md "Coverage").
	@if [ -n "$$DATABASE_URL" ] && [ -z "$(PYTEST_ARGS)" ]; then \
		$(VENV)/bin/coverage erase && $(VENV)/bin/coverage run -m pytest && $(VENV)/bin/coverage combine -q && \
		$(PY) tools/coverage_floor.py; \
	else \
		$(VENV)/bin/pytest $(PYTEST_ARGS); \
	fi
	@# With DATABASE_URL set the suite ran on PostgreSQL; the search contract runs on SQLite FTS5 too.
	@if [ -n "$$DATABASE_URL" ] && [ -z "$(PYTEST_ARGS)" ]; then \
		echo "search contract on the embedded default (SQLite FTS5):"; \
		env -u DATABASE_URL -u REDIS_URL -u CELERY_BROKER_URL $(VENV)/bin/pytest -q $(SEARCH_CONTRACT); \
	fi

# The API against its OpenAPI schema: schemathesis, every check and phase, 150 examples per
# operation and a new seed (`make test` runs the same at 5 with a fixed one). PostgreSQL and Redis
# when DATABASE_URL / REDIS_URL / CELERY_BROKER_URL are set. docs/api.md, "Fuzzing".
fuzz: install-dev
	FUZZ_EXAMPLES=$${FUZZ_EXAMPLES:-150} FUZZ_SEED=$${FUZZ_SEED:-random} $(VENV)/bin/pytest -q -s -p no:cacheprovider tests/e2e/test_api_fuzz.py

worker: install
	$(PY) -m celery -A socialsite worker --loglevel=INFO

beat: install
	$(PY) -m celery -A socialsite beat --loglevel=INFO

demo: migrate
	$(PY) manage.py load_demo
	$(PY) manage.py load_demo_posts

lint: install-dev
	$(VENV)/bin/ruff check .

format: install-dev
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

check-deploy: install
	DEBUG=false SECRET_KEY=check-deploy-$$(openssl rand -hex 32) ALLOWED_HOSTS=example.com $(PY) manage.py check --deploy --fail-level WARNING

clean:
	rm -rf $(VENV) staticfiles test_db.sqlite3*
