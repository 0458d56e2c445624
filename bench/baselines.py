"""Two yardsticks for the refresh, computed from the same five Table 1 sheets of the mirror
(2020 origin-destination, 2020 and 2024 destination, 2020 and 2024 origin):

- the naive baseline: what an analyst would write, `pandas.read_excel` with its default engine
  (openpyxl), a fixed header row, then pandas melts and group-bys for the corridors with their rank
  and the country balance with its index; no checks, no lineage, no reconciliation;
- the floor: reading the same cells with python-calamine alone, plus one DuckDB aggregation (the
  corridors ranked per year) over the parsed rows: no refresh can read and rank faster.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
from python_calamine import CalamineWorkbook

OD = "undesa_pd_{ed}_ims_stock_by_sex_destination_and_origin.xlsx"
DESTINATION = "undesa_pd_{ed}_ims_stock_by_sex_and_destination.xlsx"
ORIGIN = "undesa_pd_{ed}_ims_stock_by_sex_and_origin.xlsx"
HEADER_ROW = 9  # where python-calamine finds the header row of these five sheets
COUNTRIES_BELOW = 900  # location codes of aggregates start at 900


@dataclass(frozen=True)
class Yardstick:
    name: str
    read_s: float
    transform_s: float
    corridors: int
    top_corridor: str
    countries_2024: int

    @property
    def total_s(self) -> float:
        return round(self.read_s + self.transform_s, 3)

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "total_s": self.total_s}


def files(mirror: Path) -> list[Path]:
    return [mirror / OD.format(ed="2020")] + [
        mirror / kind.format(ed=ed) for ed in ("2020", "2024") for kind in (DESTINATION, ORIGIN)
    ]


def naive(mirror: Path) -> Yardstick:
    started = time.perf_counter()
    od = _read_table1(mirror / OD.format(ed="2020"))
    totals = {
        (ed, side): _read_table1(mirror / kind.format(ed=ed))
        for ed in ("2020", "2024")
        for side, kind in (("immigrants", DESTINATION), ("emigrants", ORIGIN))
    }
    read = time.perf_counter() - started

    started = time.perf_counter()
    dest, orig = "Location code of destination", "Location code of origin"
    years = _both_sexes_years(od)
    pairs = od[(od[dest] < COUNTRIES_BELOW) & (od[orig] < COUNTRIES_BELOW)]
    corridors = pairs.melt(id_vars=[dest, orig], value_vars=years, var_name="year", value_name="migrants")
    corridors["migrants"] = pd.to_numeric(corridors["migrants"], errors="coerce")
    corridors = corridors[corridors["migrants"] > 0].copy()
    corridors["rank"] = corridors.groupby("year")["migrants"].rank(method="first", ascending=False)
    top = corridors[(corridors["year"] == "2020") & (corridors["rank"] == 1)].iloc[0]
    balance = []
    for ed in ("2020", "2024"):
        sides = []
        for side in ("immigrants", "emigrants"):
            t = totals[(ed, side)]
            long = t[t["Location code"] < COUNTRIES_BELOW].melt(
                id_vars=["Location code"], value_vars=_both_sexes_years(t), var_name="year"
            )
            sides.append(long.rename(columns={"Location code": "code", "value": side}).set_index(["code", "year"]))
        b = sides[0].join(sides[1], how="outer").apply(pd.to_numeric, errors="coerce")
        b["net"] = b["immigrants"] - b["emigrants"]
        b["balance_index"] = b["net"] / (b["immigrants"] + b["emigrants"])
        balance.append(b.assign(release=ed))
    countries_2024 = balance[1].index.get_level_values("code").nunique()
    transform = time.perf_counter() - started
    return Yardstick(
        "naive (pandas.read_excel + pandas)",
        round(read, 3),
        round(transform, 3),
        len(corridors),
        f"{int(top[orig])} -> {int(top[dest])}: {int(top['migrants']):,}",
        int(countries_2024),
    )


def _read_table1(path: Path) -> pd.DataFrame:
    """Table 1 with the row that names the columns as the header, the way most analysts find it."""
    raw = pd.read_excel(path, sheet_name="Table 1", header=None)
    at = next(i for i, row in raw.iterrows() if any(str(v).startswith("Location code") for v in row))
    table = raw.iloc[at + 1 :].copy()
    # year labels repeat once per sex block: keep the first block's (both sexes) under the year
    seen: set[str] = set()
    labels = []
    for value in raw.iloc[at]:
        label = str(int(value)) if isinstance(value, int | float) and value == value else str(value)
        labels.append(label if label not in seen else f"{label} (again)")
        seen.add(label)
    table.columns = labels
    return table


def _both_sexes_years(table: pd.DataFrame) -> list[str]:
    return [c for c in table.columns if c.isdigit()]


def floor(mirror: Path) -> Yardstick:
    started = time.perf_counter()
    sheets = [CalamineWorkbook.from_path(str(p)).get_sheet_by_name("Table 1").to_python() for p in files(mirror)]
    read = time.perf_counter() - started

    started = time.perf_counter()
    od = sheets[0]
    header = od[HEADER_ROW]
    years = {i: str(int(v)) for i, v in enumerate(header) if isinstance(v, float)}  # all three sex blocks
    both = dict(list(years.items())[:7])  # both sexes, 1990..2020
    frame = pd.DataFrame([[r[3], r[6], *(r[i] for i in both)] for r in od[HEADER_ROW + 1 :]])
    frame.columns = ["destination", "origin", *both.values()]
    year_list = ", ".join(f'"{year}"' for year in both.values())
    with duckdb.connect() as con:
        con.register("od", frame)
        corridors = con.execute(
            f"""
            with long as (
                unpivot (select * from od where try_cast(destination as int) < 900 and try_cast(origin as int) < 900)
                on {year_list} into name year value migrants
            )
            select origin, destination, year, try_cast(migrants as bigint) as migrants,
                   row_number() over (partition by year order by try_cast(migrants as bigint) desc) as rank
            from long where try_cast(migrants as bigint) > 0
            """
        ).df()
    top = corridors[(corridors["year"] == "2020") & (corridors["rank"] == 1)].iloc[0]
    countries_2024 = len({r[4] for r in sheets[3][HEADER_ROW + 1 :] if isinstance(r[4], float) and r[4] < 900})
    transform = time.perf_counter() - started
    return Yardstick(
        "floor (calamine + one DuckDB query)",
        round(read, 3),
        round(transform, 3),
        len(corridors),
        f"{int(top['origin'])} -> {int(top['destination'])}: {int(top['migrants']):,}",
        countries_2024,
    )
