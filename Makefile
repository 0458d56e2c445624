# The whole stack in a few verbs. Everything runs through uv, from uv.lock.
MIRROR ?= ../shared/data/undesa/mirror

.PHONY: setup refresh app serve status docs bench test lint clean

setup:            ## install the locked environment into .venv
	uv sync --frozen

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

test:             ## the full test suite (the same command CI runs)
	uv run pytest

lint:             ## ruff and mypy
	uv run ruff check .
	uv run ruff format --check flows tests app bench
	uv run mypy

clean:            ## remove the data directory and dbt's artefacts (the release archive goes too)
	rm -rf data dbt_project/target dbt_project/logs
