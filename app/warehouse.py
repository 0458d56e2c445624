"""Read the published warehouse: short read-only connections, cached per published version.

The app never holds the database open: each query opens the file read-only, runs, closes. Results
are cached under the published version (the run id `data/published` points to), so a refresh
that publishes while the app is open changes the key and the next rerun reads the new data; the
old version's files stay readable for a query already running (publish keeps the previous version).
Every query takes its values as parameters; user input never becomes SQL text.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import streamlit as st

from flows.settings import load_settings


@dataclass(frozen=True)
class Published:
    version: str  # the run id of the published version
    warehouse: Path  # inside that version's folder, so one query never mixes two versions
    marts_dir: Path


def published() -> Published | None:
    """The version readers should use now, or None before the first refresh."""
    settings = load_settings()
    link = settings.published_dir
    try:
        target = Path(os.readlink(link))
    except OSError:
        target = None
    folder = (link.parent / target).resolve() if target is not None else link.resolve()
    warehouse = folder / "warehouse.duckdb"
    if not warehouse.is_file():
        return None
    return Published(folder.name, warehouse, folder / "marts")


@st.cache_data(show_spinner=False, max_entries=512)
def _query(warehouse: str, sql: str, params: tuple[Any, ...]) -> pd.DataFrame:
    """Cached per warehouse path, which lies inside the published version's folder."""
    with duckdb.connect(warehouse, read_only=True) as con:
        return con.execute(sql, list(params)).df()


def query(sql: str, *params: Any) -> pd.DataFrame:
    """Rows of a parameterised query on the published warehouse (empty before the first refresh)."""
    current = published()
    if current is None:
        return pd.DataFrame()
    return _query(str(current.warehouse), sql, tuple(params))


@st.cache_data(show_spinner=False, max_entries=32)
def _mart_bytes(path: str) -> bytes:
    return Path(path).read_bytes()


def mart_parquet(mart: str) -> bytes:
    current = published()
    if current is None:
        return b""
    return _mart_bytes(str(current.marts_dir / f"{mart}.parquet"))
