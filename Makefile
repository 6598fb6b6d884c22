# The two commands a newcomer needs: `make run` and `make test`. Everything else supports them.
SHELL := /bin/bash
.DEFAULT_GOAL := help

export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := .venv
UV_VERSION := 0.13.9
UV := .tools/bin/uv
VENV := .venv/bin
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# Local development: debug on, SQLite in ./db.sqlite3, emails printed to the console.
DEV_ENV := DJANGO_DEBUG=true PATH="$(CURDIR)/$(VENV):$$PATH"
# Folders that hold no translations of ours (compilemessages looks for every "locale" folder).
LOCALE_IGNORE := --ignore=.venv --ignore=.tools --ignore=staticfiles --ignore=var

.PHONY: help run test rehearsal bench install chromium superuser lint typecheck format check-deploy clean

help:
	@echo "make run        set everything up and start the site on http://127.0.0.1:8000"
	@echo "make test       install what the tests need and run the whole suite"
	@echo "make superuser  create a staff account for the admin"
	@echo "make lint       ruff check and format check"
	@echo "make typecheck  mypy with django-stubs on the project's apps"
	@echo "make rehearsal  production rehearsal: nginx, 2 gunicorns, worker, faults; see README"
	@echo "make bench      load benchmark (wrk, gunicorn, production settings); see README"

$(UV):
	python3 -m venv .tools
	.tools/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

# Also compiles the interface translations (locale/*/LC_MESSAGES/django.po; the .mo files are
# not committed), with Debian's gettext, installed when msgfmt is missing.
install: $(UV)
	$(UV) sync --frozen --quiet
	@command -v msgfmt >/dev/null 2>&1 || { \
		echo "Installing Debian's gettext for the translations..."; \
		$(SUDO) apt-get install -y -qq gettext >/dev/null 2>&1 || \
		{ $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq gettext >/dev/null; }; }
	$(DEV_ENV) python manage.py compilemessages --verbosity 0 $(LOCALE_IGNORE)

run: install
	$(DEV_ENV) python manage.py migrate --noinput
	$(DEV_ENV) python manage.py collectstatic --noinput --verbosity 0
	@echo
	@echo "  The site:  http://127.0.0.1:8000/"
	@echo "  Staff admin: http://127.0.0.1:8000/admin/  (first create an account in another"
	@echo "  terminal with:  make superuser)"
	@echo "  Emails are printed here, in this terminal. Stop with Ctrl+C."
	@echo
	$(DEV_ENV) honcho start --port 8000 --procfile Procfile

superuser: install
	$(DEV_ENV) python manage.py createsuperuser

chromium:
	@command -v chromium >/dev/null 2>&1 || { \
		echo "Installing Debian's chromium for the browser tests..."; \
		$(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq chromium >/dev/null; }

test: install chromium
	$(VENV)/pytest

# The production rehearsal (README, "Production rehearsal"): nginx, two gunicorn instances, the
# worker, PostgreSQL and a mail server on loopback, with faults injected; exits 1 if anything is
# lost. Installs nginx and starts PostgreSQL when needed. Options: REHEARSAL_ARGS=--help.
rehearsal: install
	$(VENV)/python deploy/rehearsal.py $(REHEARSAL_ARGS)

# The load benchmark (README, "Performance"): not a test, it asserts nothing. Installs wrk (and,
# from bench/run.py, nginx) from Debian's packages when missing; measures gunicorn, then the
# pages through nginx's page cache. Set DATABASE_URL=postgres://... to measure PostgreSQL too.
bench: install
	@command -v wrk >/dev/null 2>&1 || { \
		echo "Installing Debian's wrk for the benchmark..."; \
		$(SUDO) apt-get install -y -qq wrk >/dev/null 2>&1 || \
		{ $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq wrk >/dev/null; }; }
	$(VENV)/python -m bench.run $(BENCH_ARGS)

lint: install
	$(VENV)/ruff check .
	$(VENV)/ruff format --check .

typecheck: install
	$(VENV)/mypy tilsite citations inquiries search feedback stewardship

format: install
	$(VENV)/ruff format .
	$(VENV)/ruff check --fix .

clean:
	rm -rf .venv .tools staticfiles locale/*/LC_MESSAGES/*.mo
