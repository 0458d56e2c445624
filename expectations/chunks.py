"""The rows one validation sees: a suite's table read into pandas a part at a time.

Raw tables are validated once per edition; a part larger than the gate's chunk size is split by
ranges of years, so the gate's memory stays bounded however many rows an edition has.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import duckdb

SEXES = 3


@dataclass
class Chunk:
    """The rows one validation sees: one edition's (for raw tables), or some years of them."""

    release: str | None
    years: list[int] | None  # None: every year
    frame: Any  # pandas.DataFrame

    @property
    def sexes(self) -> int:
        """How many sexes the rows hold (both sexes only, or all three)."""
        if "sex" not in self.frame.columns:
            return SEXES
        return max(1, int(self.frame["sex"].nunique()))

    @property
    def suffix(self) -> str:
        """The Data Docs batch name's tail: each edition's (and year range's) validation its own page."""
        tail = f"_release_{self.release}" if self.release is not None else ""
        return tail + (f"_years_{self.years[0]}_{self.years[-1]}" if self.years else "")


def chunks(con: duckdb.DuckDBPyConnection, source: str, per_release: bool, chunk_rows: int) -> Iterator[Chunk]:
    """The suite's rows as DataFrames of at most about `chunk_rows` rows, split by edition (raw
    tables) and then, only where one would be larger, by ranges of years.

    Every check here holds per year (each key and each sum includes the year; row-count bounds
    scale with the years in the chunk), so checking a table year range by year range is the
    same check, and memory stays bounded however many rows an edition has."""
    release_col = "release" if per_release else "null"
    year_col = "year" if "year" in _columns(con, source) else "null"
    counts = con.execute(
        f"select {release_col}, {year_col}, count(*) from ({source}) group by all order by all"
    ).fetchall()
    releases: dict[str | None, list[tuple[int | None, int]]] = {}
    for release, year, n in counts:
        releases.setdefault(None if release is None else str(release), []).append((year, n))
    if not releases and not per_release:
        releases[None] = []  # an empty table is still validated (and fails what it must)
    for release, years in releases.items():
        rows, params = f"select * from ({source}) where true", []
        if release is not None:  # only per-edition suites' rows have (and are split by) a release
            rows, params = f"select * from ({source}) where release = ?", [release]
        if sum(n for _, n in years) <= chunk_rows or any(y is None for y, _ in years):
            yield Chunk(release, None, con.execute(rows, params).df())
            continue
        for group in _year_groups(years, chunk_rows):
            yield Chunk(release, group, con.execute(f"{rows} and list_contains(?, year)", [*params, group]).df())


def _columns(con: duckdb.DuckDBPyConnection, source: str) -> list[str]:
    return [d[0] for d in con.execute(f"select * from ({source}) limit 0").description or []]


def _year_groups(years: list[tuple[int | None, int]], chunk_rows: int) -> list[list[int]]:
    groups: list[list[int]] = [[]]
    rows = 0
    for year, n in years:
        if groups[-1] and rows + n > chunk_rows:
            groups.append([])
            rows = 0
        groups[-1].append(int(year or 0))
        rows += n
    return groups
