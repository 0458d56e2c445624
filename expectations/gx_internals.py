"""Every reach into Great Expectations' internals, in one place; tests/test_internals.py checks each
against the installed version, so an upgrade that moves one fails there, by name.

GX 1.x's pandas engine keeps every batch it validated, and every metric it computed (some a
full-length Series), for as long as the data source lives: here the whole gate, so every chunk of
every table. No public API drops them; dropped after each validation, the gate's memory is one
chunk's (measured at 100x the rows: 16.6 GB before, and growing).
"""

from __future__ import annotations

from typing import Any


def forget_batches(definition: Any) -> None:
    """Drop the batches and metrics a validation definition's engine holds."""
    engine = definition.data.data_asset.datasource.get_execution_engine()
    engine.batch_manager.reset_batch_cache()
    engine.batch_manager.batch_data_cache.clear()  # the DataFrames themselves
    metrics = getattr(engine, "_metric_cache", None)
    if isinstance(metrics, dict):
        metrics.clear()
