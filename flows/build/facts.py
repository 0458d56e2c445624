"""What a finished build says about each edition, for the run record and the CLI: which sexes
its tables give, whether it has corridors, where its totals come from, and how the official
tables' known discrepancies stand. Read from the build database right after dbt, so a reader
of the record learns it without opening the warehouse."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb

from flows.results import ReleaseFacts


def release_facts(build_db: Path, memory_limit: str) -> list[ReleaseFacts]:
    with duckdb.connect(str(build_db), read_only=True, config={"memory_limit": memory_limit}) as con:
        rows = con.execute(
            "select release, has_corridors, coalesce(corridor_sexes, []), coalesce(totals_sexes, []), "
            "emigrants_source from marts.releases order by release desc"
        ).fetchall()
    return [
        ReleaseFacts(
            release=str(r[0]),
            has_corridors=bool(r[1]),
            corridor_sexes=list(r[2]),
            totals_sexes=list(r[3]),
            emigrants_source=r[4],
        )
        for r in rows
    ]


def known_discrepancies(build_db: Path, memory_limit: str) -> dict[str, Any]:
    """How many known discrepancies concern the workbooks of this build (listed for the version
    read, or found in it as listed for another), what they are facts of, and how many were found
    exactly as listed."""
    with duckdb.connect(str(build_db), read_only=True, config={"memory_limit": memory_limit}) as con:
        rows = con.execute(
            "select about, count(*), count(*) filter (where observed) "
            "from intermediate.int_known_discrepancies_observed where in_use or observed group by about "
            "order by case about when 'official tables' then 0 when 'mirror reconstruction' then 1 else 2 end"
        ).fetchall()
    return {
        "listed": sum(int(r[1]) for r in rows),
        "as_listed": sum(int(r[2]) for r in rows),
        "by_kind": {str(r[0]): int(r[1]) for r in rows},
    }
