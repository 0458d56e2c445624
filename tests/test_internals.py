"""The library internals the pipeline relies on (flows/internals.py, expectations/gx_internals.py)
are still where it reaches for them in the installed versions. An upgrade that moves one fails
here, naming it, before a refresh meets it."""

from __future__ import annotations

import inspect

import pandas as pd


def test_prefect_still_runs_its_ephemeral_server_as_we_launch_ours() -> None:
    from prefect.server.api import server

    from flows.ops.internals import PREFECT_EPHEMERAL_ENV, PREFECT_SERVER_APP, prefect_server_command

    module, factory = PREFECT_SERVER_APP.split(":")
    assert module == server.__name__ and callable(getattr(server, factory)), f"{PREFECT_SERVER_APP} moved"
    launcher = inspect.getsource(server.SubprocessASGIServer)
    assert PREFECT_SERVER_APP in launcher, "Prefect's SubprocessASGIServer no longer serves this app"
    for name in PREFECT_EPHEMERAL_ENV:
        assert name in inspect.getsource(server), f"Prefect's server no longer reads {name}"
    command = prefect_server_command(4200)
    assert command[1:3] == ["-m", "uvicorn"] and "--factory" in command


def test_prefect_still_drains_its_queues_as_we_ask() -> None:
    """drain_all takes a timeout and, outside an event loop, waits; the log and events workers share
    one registry (what flows/ops/prefect_server.py says of Prefect's own flush)."""
    from prefect._internal.concurrency.services import QueueService
    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker

    from flows.ops.internals import prefect_drain_queues

    for service in (APILogWorker, EventsWorker):
        assert "timeout" in inspect.signature(service.drain_all).parameters, f"{service.__name__}.drain_all moved"
        assert service._instances is QueueService._instances, f"{service.__name__} has a registry of its own now"
    assert prefect_drain_queues(timeout=30) >= 0


def test_dbt_still_cancels_and_closes_as_we_ask() -> None:
    from dbt.adapters.base.impl import BaseAdapter
    from dbt.adapters.duckdb.connections import DuckDBConnectionManager
    from dbt.adapters.duckdb.environments.local import LocalEnvironment
    from dbt.adapters.factory import FACTORY

    assert isinstance(FACTORY.adapters, dict), "dbt's adapter factory no longer keeps its adapters in a dict"
    assert callable(BaseAdapter.cancel_open_connections)
    assert hasattr(DuckDBConnectionManager, "_ENV"), "dbt-duckdb no longer keeps its environment in _ENV"
    assert callable(DuckDBConnectionManager.close_all_connections)
    assert ".interrupt()" in inspect.getsource(LocalEnvironment.cancel), "dbt-duckdb no longer interrupts"


def test_great_expectations_caches_are_still_where_we_clear_them() -> None:
    import great_expectations as gx

    from expectations.gx_internals import forget_batches

    context = gx.get_context(mode="ephemeral")
    asset = context.data_sources.add_pandas("internals").add_dataframe_asset("frame")
    suite = context.suites.add(gx.ExpectationSuite(name="internals"))
    suite.add_expectation(gx.expectations.ExpectColumnValuesToNotBeNull(column="x"))
    definition = context.validation_definitions.add(
        gx.ValidationDefinition(name="internals", data=asset.add_batch_definition_whole_dataframe("b"), suite=suite)
    )
    assert definition.run(batch_parameters={"dataframe": pd.DataFrame({"x": [1, 2, 3]})}).success
    engine = definition.data.data_asset.datasource.get_execution_engine()
    assert engine.batch_manager.batch_data_cache, "GX's pandas engine no longer caches batches there"
    assert isinstance(engine._metric_cache, dict) and engine._metric_cache, "GX moved its metric cache"
    forget_batches(definition)
    assert not engine.batch_manager.batch_data_cache and not engine._metric_cache
