"""A synthetic edition at N times the rows of a real one, for the scaling run.

Same layout as Rev.2020 (the five workbooks' sheets, title rows, header labels, sex blocks, WORLD
and region rows, the "Other" origin), same shape at 1x as the real 2020 edition (about 232
countries, 85 origins per destination, 7 reference years: 20,000 O-D rows, 426,000 parsed
cells), grown at Nx by more synthetic locations and more reference years in equal measure. The
totals are sums of the O-D table, so every dbt test and expectation holds by construction, and the
catalogue written beside the files carries the edition's years and row bounds.

Just over 300 lines: one writer per workbook of the edition, each the layout it imitates.

Written with XlsxWriter in constant-memory mode (about 260,000 cells/s here; openpyxl's
write-only mode is half as fast), and cached by factor and generator version: a 100x edition
takes about three minutes to write.
"""

from __future__ import annotations

import json
import math
import shutil
import string
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml

GENERATOR_VERSION = "1"
EDITION = "2020"
WORLD, OTHER = 900, 2003
BASE_COUNTRIES, BASE_ORIGINS, BASE_YEARS = 232, 85, 7
SDG_REGIONS = {
    947: "Sub-Saharan Africa",
    1833: "Northern Africa and Western Asia",
    921: "Central and Southern Asia",
    1832: "Eastern and South-Eastern Asia",
    1830: "Latin America and the Caribbean",
    927: "Australia/New Zealand",
    1835: "Oceania (excluding Australia and New Zealand)",
    1829: "Europe and Northern America",
}
NAMES = {
    "origin_destination": "undesa_pd_2020_ims_stock_by_sex_destination_and_origin.xlsx",
    "destination": "undesa_pd_2020_ims_stock_by_sex_and_destination.xlsx",
    "origin": "undesa_pd_2020_ims_stock_by_sex_and_origin.xlsx",
    "classification": "aggregates_correspondence_table_2020_1.xlsx",
}
BLOCK_TITLES = ("both sexes combined", "males", "females")


@dataclass
class Shape:
    """How an Nx edition grows: countries and origins per destination by sqrt of the pair factor,
    reference years by the rest, so rows and columns both grow."""

    factor: float
    countries: int
    origins: int
    years: list[int]

    @classmethod
    def of(cls, factor: float) -> Shape:
        year_factor = max(1.0, factor**0.42)
        n_years = round(BASE_YEARS * year_factor)
        pair_factor = factor * BASE_YEARS / n_years
        countries = min(899, round(BASE_COUNTRIES * math.sqrt(pair_factor)))
        origins = min(countries - 1, round(BASE_ORIGINS * pair_factor * BASE_COUNTRIES / countries))
        step = 5 if n_years == BASE_YEARS else max(1, 35 // n_years)
        years = [2020 - step * (n_years - 1 - i) for i in range(n_years)]
        return cls(factor, countries, origins, years)


@dataclass
class World:
    codes: np.ndarray  # country codes
    region: dict[int, int]  # country code -> SDG region code
    pairs: list[tuple[int, np.ndarray, np.ndarray]]  # (destination, origin codes, stocks [origin, sex(m,f), year])
    population: np.ndarray  # [country, sex(m,f), year], thousands


def generate(folder: Path, factor: float, seed: int = 2020) -> Path:
    """Write the edition's workbooks and catalogue under folder/<factor>x (reused when already
    written by this generator version); returns the catalogue path."""
    shape = Shape.of(factor)
    target = folder / f"{factor:g}x"
    stamp = target / "generated.json"
    wanted = {"version": GENERATOR_VERSION, "seed": seed, **shape.__dict__}
    if stamp.is_file() and json.loads(stamp.read_text()) == wanted:
        return target / "releases.yaml"
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    world = _world(shape, seed)
    od_rows = _write_origin_destination(world, shape, target / NAMES["origin_destination"])
    _write_destination(world, shape, target / NAMES["destination"])
    _write_origin(world, shape, target / NAMES["origin"])
    _write_classification(world, target / NAMES["classification"])
    locations = len(world.codes) + 1 + len(SDG_REGIONS)
    catalogue = {
        "base_url": "https://example.invalid/synthetic/",
        "editions": [
            {
                "edition": EDITION,
                "title": f"Synthetic edition, {factor:g}x the rows of Rev.2020",
                "years": shape.years,
                "expected_locations": [locations - 5, locations + 5],
                "expected_od_rows": [int(od_rows * 0.95), int(od_rows * 1.05) + 1],
                "files": [{"kind": kind, "name": name} for kind, name in NAMES.items()],
            }
        ],
    }
    (target / "releases.yaml").write_text(yaml.safe_dump(catalogue, sort_keys=False), encoding="utf-8")
    stamp.write_text(json.dumps({**wanted, "od_rows": od_rows}), encoding="utf-8")
    return target / "releases.yaml"


def _world(shape: Shape, seed: int) -> World:
    rng = np.random.default_rng(seed)
    codes = np.arange(1, shape.countries + 1)
    regions = list(SDG_REGIONS)
    region = {int(c): regions[i % len(regions)] for i, c in enumerate(codes)}
    n_years = len(shape.years)
    growth = 1 + np.arange(n_years) / (4 * n_years)
    pairs = []
    for i, dest in enumerate(codes):
        others = np.delete(codes, i)
        origins = np.sort(rng.choice(others, size=shape.origins, replace=False))
        if i % 4 == 0:
            origins = np.append(origins, OTHER)
        base = rng.integers(100, 120_000, size=len(origins))
        share = rng.uniform(0.4, 0.6, size=len(origins))
        total = (base[:, None] * growth[None, :]).astype(np.int64)
        male = (total * share[:, None]).astype(np.int64)
        pairs.append((int(dest), origins, np.stack([male, total - male], axis=1)))
    immigrants = np.stack([p[2].sum(axis=0) for p in pairs])  # [country, sex, year]
    population = immigrants / 1000 * rng.uniform(4, 40, size=(len(codes), 1, 1)) + 50
    return World(codes, region, pairs, np.round(population, 3))


def _values(stocks: np.ndarray) -> list[int]:
    """[sex(m,f), year] -> the three blocks in published order: both sexes, males, females."""
    male, female = stocks[0], stocks[1]
    return [*(male + female).tolist(), *male.tolist(), *female.tolist()]


def _book(path: Path) -> Any:
    import xlsxwriter

    book = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    book.add_worksheet("Table of contents")
    return book


def _heading(
    sheet: Any, title_col: int, titles: list[str], block_row: int, first: int, n_years: int, what: str
) -> None:
    for i, line in enumerate(titles):
        sheet.write(i, title_col - 1, line)
    for b, sex in enumerate(BLOCK_TITLES):
        sheet.write(block_row - 1, first - 1 + b * n_years, f"{what}, {sex}")


def _write_origin_destination(world: World, shape: Shape, path: Path) -> int:
    book = _book(path)
    sheet = book.add_worksheet("Table 1")
    years = shape.years
    meta = [
        "Index",
        "Region, development group, country or area of destination",
        "Notes of destination",
        "Location code of destination",
        "Type of data of destination",
        "Region, development group, country or area of origin",
        "Location code of origin",
    ]
    titles = [
        f"International Migrant Stock {EDITION}: Destination and origin",
        "Table 1: International migrant stock at mid-year by sex and by region, country or area of "
        "destination and origin",
    ]
    for i, line in enumerate(titles):
        sheet.write(i, 4, line)
    for b, sex in enumerate(("both sexes", "male", "female")):
        sheet.write(7, len(meta) + b * len(years), f"International migrant stock ({sex})")
    sheet.write_row(10, 0, [*meta, *years, *years, *years])
    by_origin: dict[int, np.ndarray] = {}
    for _, origins, stocks in world.pairs:
        for o, s in zip(origins.tolist(), stocks, strict=True):
            by_origin[o] = by_origin[o] + s if o in by_origin else s.copy()
    world_total = np.sum(list(by_origin.values()), axis=0)
    row = 11
    index = 1

    def put(dest_name: str, dest: int, origin_name: str, origin: int, stocks: np.ndarray) -> None:
        nonlocal row, index
        dtype = "" if dest >= WORLD else "B R"
        sheet.write_row(row, 0, [index, dest_name, "", dest, dtype, origin_name, origin, *_values(stocks)])
        row += 1
        index += 1

    put("WORLD", WORLD, "WORLD", WORLD, world_total)
    for o in sorted(by_origin):
        put("WORLD", WORLD, "Other" if o == OTHER else f"   {_name(o)}", o, by_origin[o])
    for dest, origins, stocks in world.pairs:
        put(f"   {_name(dest)}", dest, "WORLD", WORLD, stocks.sum(axis=0))
        for o, s in zip(origins.tolist(), stocks, strict=True):
            put(f"   {_name(dest)}", dest, "Other" if o == OTHER else f"   {_name(o)}", o, s)
    book.add_worksheet("Notes")
    book.close()
    return index - 1


def _aggregates(world: World, per_country: dict[int, np.ndarray]) -> list[tuple[str, int, np.ndarray]]:
    rows = [("WORLD", WORLD, np.sum(list(per_country.values()), axis=0))]
    for code, name in sorted(SDG_REGIONS.items()):
        members = [per_country[c] for c in per_country if c != OTHER and world.region[c] == code]
        if members:
            rows.append((f"  {name}", code, np.sum(members, axis=0)))
    return rows


def _write_destination(world: World, shape: Shape, path: Path) -> None:
    book = _book(path)
    years, n = shape.years, len(shape.years)
    meta = ["", "Region, development group, country or area", "Notes", "Location code", "Type of data"]
    immigrants = {dest: stocks.sum(axis=0) for dest, _, stocks in world.pairs}
    population = {int(c): world.population[i] for i, c in enumerate(world.codes)}
    for table, what, values in (
        ("Table 1", "International migrant stock at mid-year", immigrants),
        ("Table 2", "Total population at mid-year", population),
    ):
        sheet = book.add_worksheet(table)
        title = f"{table}: {what} by sex and by region, country or area of destination, {years[0]}-{years[-1]}"
        title += " (thousands)" if table == "Table 2" else ""
        _heading(sheet, 5, [f"International Migrant Stock {EDITION}: Destination", title], 7, len(meta) + 1, n, what)
        sheet.write_row(9, 0, [*meta, *years, *years, *years])
        rows = _aggregates(world, values) + [(f"   {_name(c)}", c, v) for c, v in values.items()]
        for i, (name, code, stocks) in enumerate(rows):
            cells: list[Any] = _values(stocks)
            if table == "Table 2":
                cells = [round(float(v), 3) for v in cells]
            dtype = "" if code >= WORLD else "B R"
            sheet.write_row(10 + i, 0, [i + 1, name, "", code, dtype, *cells])
    book.add_worksheet("Notes")
    book.close()


def _write_origin(world: World, shape: Shape, path: Path) -> None:
    book = _book(path)
    sheet = book.add_worksheet("Table 1")
    years, n = shape.years, len(shape.years)
    meta = ["Index", "Region, development group, country or area", "Notes", "Location code", "Type of data"]
    what = "International migrant stock at mid-year"
    title = "Table 1: International migrant stock at mid-year by sex and by region, country or area of origin"
    _heading(sheet, 5, [f"International Migrant Stock {EDITION}: Origin", title], 7, len(meta) + 1, n, what)
    sheet.write_row(9, 0, [*meta, *years, *years, *years])
    emigrants: dict[int, np.ndarray] = {int(c): np.zeros((2, n), dtype=np.int64) for c in world.codes}
    emigrants[OTHER] = np.zeros((2, n), dtype=np.int64)
    for _, origins, stocks in world.pairs:
        for o, s in zip(origins.tolist(), stocks, strict=True):
            emigrants[o] += s
    other = emigrants.pop(OTHER)
    rows = _aggregates(world, emigrants)
    rows[0] = ("WORLD", WORLD, rows[0][2] + other)
    rows += [(f"   {_name(c)}", c, v) for c, v in emigrants.items()]
    rows.append(("OTHER", OTHER, other))
    for i, (name, code, stocks) in enumerate(rows):
        sheet.write_row(10 + i, 0, [i + 1, name, "", code, "", *_values(stocks)])
    book.add_worksheet("Notes")
    book.close()


def _write_classification(world: World, path: Path) -> None:
    import xlsxwriter

    book = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    sheet = book.add_worksheet("Annex")
    sheet.write(0, 4, f"International Migrant Stock {EDITION}")
    sheet.write(1, 4, "Annex: Classification of countries and areas")
    groups = ["", "", "", "", "Location Type", "", "Parent Location code", "WORLD", "Subregion", "", "SDG subregion"]
    groups += ["", "SDG region", "", "Geographic region", "", "UN development groups", "", "", ""]
    groups += ["World Bank income groups", "", "", "", "", ""]
    names = ["Region, subregion, country or area*", "Notes", "Location code", "ISO3 Alpha-code", "Code", "Name"]
    names += ["", "Code", "Code", "Name", "Code", "Name", "Code", "Name", "Code", "Name"]
    names += ["More developed regions\n901", "Less developed regions\n902", "Least developed countries\n941"]
    names += ["Small Island Developing States (SIDS)\n1637", "High-income Countries\n1503"]
    names += ["Middle-income Countries\n1517", "Upper-middle-income Countries\n1502"]
    names += ["Lower-middle-income Countries\n1501", "Low-income Countries\n1500", "No income group available\n1518"]
    sheet.write_row(8, 0, groups)
    sheet.write_row(9, 0, names)
    sheet.write_row(10, 0, ["WORLD", "", WORLD])
    r = 11
    for code, name in sorted(SDG_REGIONS.items()):
        sheet.write_row(r, 0, [f"  {name}", "", code, "   ", 12, "SDG region", 1828])
        r += 1
    for code in world.codes.tolist():
        sdg = world.region[code]
        row: list[Any] = [f"   {_name(code)}", "", code, _iso3(code), 4, "Country/Area", WORLD, WORLD]
        row += [WORLD + code % 7, "Somewhere", "", "", sdg, SDG_REGIONS[sdg], 903, "Somewhere"]
        row += ["", 902, "", "", "", 1517, 1502, "", "", ""]
        sheet.write_row(r, 0, row)
        r += 1
    book.add_worksheet("Notes")
    book.close()


def _name(code: int) -> str:
    return f"Synthetia {code:03d}"


def _iso3(code: int) -> str:
    letters = string.ascii_uppercase
    return (
        "Q" + letters[code // 26 % 26] + letters[code % 26]
        if code < 676
        else "X" + letters[code // 26 % 26] + letters[code % 26]
    )


def od_rows(catalogue: Path) -> int:
    """How many origin-destination rows the edition beside this catalogue was written with."""
    return int(json.loads((catalogue.parent / "generated.json").read_text())["od_rows"])
