# The whole stack in a few verbs. Everything runs through uv, from uv.lock.
MIRROR ?= ../shared/data/undesa/mirror

.PHONY: help setup refresh app serve status docs bench test test-fast lint clean
.DEFAULT_GOAL := help

help:             ## list these verbs
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/^([a-z-]+):[^#]*## /  make \1\t/' | expand -t 20

setup:            ## install the locked environment into .venv
	uv sync --frozen --compile-bytecode

refresh:          ## fetch, parse, build and publish the warehouse from the local mirror
	uv run migration-etl run --source-dir $(MIRROR)

app:              ## serve the Streamlit app on http://localhost:8501
	uv run migration-etl app

serve:            ## serve the refresh as a scheduled Prefect deployment (needs PREFECT_API_URL)
	uv run migration-etl serve --source-dir $(MIRROR)

status:           ## the latest refreshes, from the run records
	uv run migration-etl status

docs:             ## serve the dbt docs of the published warehouse
	uv run migration-etl docs

bench:            ## where the time goes: refresh steps, app pages and queries (writes bench/results.json)
	uv run python -m bench --source-dir $(MIRROR)

test:             ## the full test suite (the same command CI runs; two workers, about 7.5 minutes)
	uv run pytest

test-fast:        ## the tests that run no refresh (parsers, catalogue, fetch, identities; under a minute)
	uv run pytest -m "not slow"

lint:             ## ruff (lint and format) and mypy, as CI runs them
	uv run ruff check .
	uv run ruff format --check .
	uv run mypy

clean:            ## remove the data directory and dbt's artefacts (the release archive goes too)
	rm -rf data dbt_project/target dbt_project/logs
