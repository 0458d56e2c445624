"""The origins that are not places: `Other` (2003) of Rev.2020/2024, `Other North` and `Other South`
of the older matrices. Their codes live in one reviewed file, the dbt seed
`dbt_project/seeds/unknown_origins.csv`, which the marts join to; the parsers read the same file
to give a matrix column its code."""

from __future__ import annotations

import csv
from functools import cache

from flows.settings import PROJECT_DIR

SEED = PROJECT_DIR / "dbt_project" / "seeds" / "unknown_origins.csv"


@cache
def unknown_origin_codes() -> dict[str, int]:
    """Column label (case-folded) -> code, e.g. 'other north' -> 9901."""
    with open(SEED, encoding="utf-8", newline="") as fh:
        return {row["label"].strip().casefold(): int(row["origin_code"]) for row in csv.DictReader(fh)}
