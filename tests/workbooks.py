"""Generated release workbooks for tests, in the layouts of Rev.2020 and Rev.2024, and of the older
editions (Rev.2015 to Rev.2019: a totals workbook and an origin-destination matrix).

One synthetic world (a few countries, an origin-destination matrix per year and sex) is written
out as the origin-destination, destination and origin workbooks and the classification, so the
totals reconcile with the O-D table by construction, and each test can break exactly one thing.
Layout facts follow ../shared/data/undesa/SOURCES.md; nothing here is read from the real files.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from openpyxl import Workbook, load_workbook

OTHER = 2003
WORLD = 900


@dataclass(frozen=True)
class Country:
    code: int
    iso3: str
    names: dict[str, str]  # edition -> name as that edition spells it (marks and all)
    sdg_code: int
    sdg_name: str
    subregion: str
    income: str = "Upper-middle-income Countries"

    def name(self, edition: str) -> str:
        return self.names.get(edition, next(iter(self.names.values())))


COUNTRIES = [
    Country(398, "KAZ", {"2020": "Kazakhstan"}, 921, "Central and Southern Asia", "Central Asia"),
    Country(643, "RUS", {"2020": "Russian Federation"}, 1829, "Europe and Northern America", "Eastern Europe"),
    Country(
        792, "TUR", {"2020": "Turkey", "2024": "Türkiye"}, 1833, "Northern Africa and Western Asia", "Western Asia"
    ),
    Country(
        840,
        "USA",
        {"2020": "United States of America*"},
        1829,
        "Europe and Northern America",
        "Northern America",
        "High-income Countries",
    ),
    Country(484, "MEX", {"2020": "Mexico"}, 1830, "Latin America and the Caribbean", "Central America"),
]

YEARS = {
    "2015": [1990, 1995, 2000, 2005, 2010, 2015],
    "2017": [1990, 1995, 2000, 2005, 2010, 2015, 2017],
    "2019": [1990, 1995, 2000, 2005, 2010, 2015, 2019],
    "2020": [1990, 1995, 2000, 2005, 2010, 2015, 2020],
    "2024": [1990, 1995, 2000, 2005, 2010, 2015, 2020, 2024],
}


@dataclass
class World:
    """Stocks of one edition: od[(dest, origin)][year] = (male, female); origin may be OTHER."""

    edition: str
    years: list[int]
    countries: list[Country] = field(default_factory=lambda: list(COUNTRIES))
    od: dict[tuple[int, int], dict[int, tuple[int, int]]] = field(default_factory=dict)
    population: dict[int, dict[int, tuple[float, float]]] = field(default_factory=dict)  # thousands
    not_available: set[tuple[int, int]] = field(default_factory=set)  # (code, year) shown as '..'

    def country(self, code: int) -> Country:
        return next(c for c in self.countries if c.code == code)

    def stock(self, dest: int, origin: int, year: int, sex: str) -> int:
        m, f = self.od.get((dest, origin), {}).get(year, (0, 0))
        return {"total": m + f, "male": m, "female": f}[sex]

    def immigrants(self, dest: int, year: int, sex: str) -> int:
        return sum(self.stock(d, o, year, sex) for (d, o) in self.od if d == dest)

    def emigrants(self, origin: int, year: int, sex: str) -> int:
        return sum(self.stock(d, o, year, sex) for (d, o) in self.od if o == origin)

    def regions(self) -> dict[int, str]:
        return {c.sdg_code: c.sdg_name for c in self.countries}


def make_world(edition: str = "2020", seed: int = 7) -> World:
    rng = random.Random(f"{edition}-{seed}")
    years = YEARS[edition]
    world = World(edition, years)
    codes = [c.code for c in COUNTRIES]
    for dest in codes:
        for origin in [*codes, OTHER]:
            if dest == origin or (origin == OTHER and dest not in (398, 840)):
                continue
            if {dest, origin} == {484, 398}:
                continue  # no corridor between Mexico and Kazakhstan
            base = rng.randint(1_000, 900_000)
            world.od[(dest, origin)] = {
                y: (int(base * (1 + i / 10) * 0.52), int(base * (1 + i / 10) * 0.48)) for i, y in enumerate(years)
            }
    # the two corridors the product is about: Mexico -> USA is the largest, KAZ <-> RUS runs both ways
    for i, y in enumerate(years):
        world.od[(840, 484)][y] = (5_000_000 + i * 100_000, 4_800_000 + i * 90_000)
        world.od[(643, 398)][y] = (1_300_000 + i, 1_250_000 + i)
        world.od[(398, 643)][y] = (1_240_000 + i, 1_230_000 + i)
    for c in COUNTRIES:
        world.population[c.code] = {y: (rng.uniform(5_000, 90_000), rng.uniform(5_000, 90_000)) for y in years}
    return world


# --- writing -----------------------------------------------------------------------------------

SEX_TITLES = ("both sexes combined", "males", "females")


def _sheet(wb: Workbook, name: str) -> Any:
    ws = wb.create_sheet(name)
    return ws


def _put_row(ws: Any, excel_row: int, values: Iterable[Any], first_col: int = 1) -> None:
    for j, v in enumerate(values):
        if v is not None and v != "":
            ws.cell(row=excel_row, column=first_col + j, value=v)


def _titles(ws: Any, col: int, lines: list[str]) -> None:
    for i, line in enumerate(lines):
        ws.cell(row=1 + i, column=col, value=line)


def _block_titles(ws: Any, excel_row: int, first_year_col: int, n_years: int, what: str) -> None:
    for b, sex in enumerate(SEX_TITLES):
        ws.cell(row=excel_row, column=first_year_col + b * n_years, value=f"{what}, {sex}")


def _aggregate_rows(world: World, value: Any, duplicate_region: bool = True) -> list[tuple[int, str, Any]]:
    """WORLD and SDG regions, each an (code, name, value-function) triple; one region listed twice."""
    rows: list[tuple[int, str, Any]] = [(WORLD, "WORLD" if world.edition == "2020" else "World", value(None))]
    regions = sorted(world.regions().items())
    for code, name in regions:
        members = [c.code for c in world.countries if c.sdg_code == code]
        rows.append((code, f"  {name}", value(members)))
    if duplicate_region:
        code, name = regions[-1]
        members = [c.code for c in world.countries if c.sdg_code == code]
        rows.append((code, f"  {name}", value(members)))  # like Australia/New Zealand, 927 twice
    return rows


def write_destination(world: World, path: Path, layout: str | None = None, *, headings: bool = False) -> Path:
    """Destination workbook: Table 1 stocks by destination, Table 2 population (thousands).

    `headings` adds section-heading rows (a name, no code, '..' or nothing for figures), as the
    2019 workbook has, to both tables."""
    layout = layout or world.edition
    years = world.years
    wb = Workbook()
    wb.active.title = "Table of contents"
    t1 = _sheet(wb, "Table 1")
    t2 = _sheet(wb, "Table 2")
    if layout == "2020":
        meta1 = ["", "Region, development group, country or area", "Notes", "Location code", "Type of data"]
        meta2 = meta1
        title_col = 5
    else:
        meta1 = ["", "Region, development group, country or area", "Coverage", "Data type", "Location code"]
        meta2 = ["", "Region, development group, country or area", "Population notes", "Location code"]
        title_col = 6
        t1.cell(row=9, column=3, value="Migrant notes")
    _titles(
        t1,
        title_col,
        [
            f"International Migrant Stock {world.edition}: Destination",
            f"Table 1: International migrant stock at mid-year by sex and by region, country or area of destination, "
            f"1990-{years[-1]}",
            f"POP/DB/MIG/Stock/Rev.{world.edition}",
        ],
    )
    _titles(
        t2,
        title_col,
        [
            f"International Migrant Stock {world.edition}: Destination",
            f"Table 2: Total population at mid-year by sex and by region, country or area of destination, "
            f"1990-{years[-1]} (thousands)",
        ],
    )
    first1 = len(meta1) + 1
    first2 = len(meta2) + 1
    _block_titles(t1, 7, first1, len(years), "International migrant stock at mid-year")
    _block_titles(t2, 7, first2, len(years), "Total population at mid-year")
    _put_row(t1, 10, [*meta1, *years, *years, *years])
    _put_row(t2, 10, [*meta2, *years, *years, *years])

    def stock_values(members: list[int] | None, code: int | None = None) -> list[Any]:
        out: list[Any] = []
        for sex in ("total", "male", "female"):
            for y in years:
                if code is not None and (code, y) in world.not_available:
                    out.append("..")
                else:
                    dests = members if members is not None else [c.code for c in world.countries]
                    out.append(sum(world.immigrants(d, y, sex) for d in dests))
        return out

    def pop_values(members: list[int] | None) -> list[Any]:
        dests = members if members is not None else [c.code for c in world.countries]
        out: list[Any] = []
        for idx in (None, 0, 1):
            for y in years:
                vals = [world.population[d][y] for d in dests]
                out.append(round(sum(v[0] + v[1] if idx is None else v[idx] for v in vals), 3))
        return out

    rows1: list[tuple[Any, ...]] = []
    rows2: list[tuple[Any, ...]] = []
    if headings:
        rows1.append(("UN development groups", "", "", "", [".."] * (3 * len(years))))
        rows2.append(("UN development groups", "", "", "", [""] * (3 * len(years))))
    for code, name, _ in _aggregate_rows(world, lambda m: None):
        members = None if code == WORLD else [c.code for c in world.countries if c.sdg_code == code]
        rows1.append((name, "", code, "", stock_values(members)))
        rows2.append((name, "", code, "", pop_values(members)))
    for c in world.countries:
        rows1.append(
            (f"   {c.name(world.edition)}", 7 if c.code == 840 else "", c.code, "B R", stock_values([c.code], c.code))
        )
        rows2.append((f"   {c.name(world.edition)}", "", c.code, "B R", pop_values([c.code])))
    for i, (name, notes, code, dtype, values) in enumerate(rows1):
        meta = [i + 1, name, notes, code, dtype] if layout == "2020" else [i + 1, name, notes, dtype or "", code]
        _put_row(t1, 11 + i, [*meta, *values])
    for i, (name, _notes, code, dtype, values) in enumerate(rows2):
        # Rev.2024's Table 2 fills its "Location code" column with data types, not codes
        meta = [i + 1, name, "", code, dtype] if layout == "2020" else [i + 1, name, "", dtype]
        _put_row(t2, 11 + i, [*meta, *values])
    wb.create_sheet("Notes")
    wb.save(path)
    return path


def write_origin(world: World, path: Path, layout: str | None = None) -> Path:
    layout = layout or world.edition
    years = world.years
    wb = Workbook()
    wb.active.title = "Table of contents"
    t1 = _sheet(wb, "Table 1")
    if layout == "2020":
        meta = ["Index", "Region, development group, country or area", "Notes", "Location code", "Type of data"]
    else:
        meta = ["Index", "Region, development group, country or area", "Coverage", "", "Location code"]
    _titles(
        t1,
        5,
        [
            f"International Migrant Stock {world.edition}: Origin",
            "Table 1: International migrant stock at mid-year by sex and by region, country or area of origin",
        ],
    )
    first = len(meta) + 1
    _block_titles(t1, 7, first, len(years), "International migrant stock at mid-year")
    _put_row(t1, 10, [*meta, *years, *years, *years])

    def values(origins: list[int]) -> list[int]:
        return [sum(world.emigrants(o, y, sex) for o in origins) for sex in ("total", "male", "female") for y in years]

    rows = []
    for code, name, _ in _aggregate_rows(world, lambda m: None):
        members = (
            [c.code for c in world.countries] + [OTHER]
            if code == WORLD
            else [c.code for c in world.countries if c.sdg_code == code]
        )
        rows.append((name, code, values(members)))
    rows += [(f"   {c.name(world.edition)}", c.code, values([c.code])) for c in world.countries]
    rows.append(("OTHER", OTHER, values([OTHER])))
    for i, (name, code, vals) in enumerate(rows):
        m = [i + 1, name, "", code, ""] if layout == "2020" else [i + 1, name, "", "", code]
        _put_row(t1, 11 + i, [*m, *vals])
    wb.create_sheet("Notes")
    wb.save(path)
    return path


def write_origin_destination(
    world: World,
    path: Path,
    layout: str | None = None,
    *,
    region_origins: bool = False,
    block_titles: tuple[str, ...] | None = None,
) -> Path:
    """The O-D workbook: per destination a WORLD row, then one row per origin (countries, Other).

    `region_origins` also lists each SDG region as an origin (the real file may); `block_titles`
    writes titles over the sex blocks in the given order ('both sexes', 'male', 'female'), with
    the values written in that order too."""
    layout = layout or world.edition
    years = world.years
    wb = Workbook()
    wb.active.title = "Table of contents"
    t1 = _sheet(wb, "Table 1")
    if layout == "2020":
        meta = [
            "Index",
            "Region, development group, country or area of destination",
            "Notes of destination",
            "Location code of destination",
            "Type of data of destination",
            "Region, development group, country or area of origin",
            "Location code of origin",
        ]
    else:
        meta = [
            "Index",
            "Region, development group, country or area of destination",
            "Coverage",
            "Data type",
            "Location code of destination",
            "Region, development group, country or area of origin",
            "Location code of origin",
        ]
    _titles(
        t1,
        5,
        [
            f"International Migrant Stock {world.edition}: Destination and origin",
            "Table 1: International migrant stock at mid-year by sex and by region, country or area of "
            "destination and origin",
        ],
    )
    titles = block_titles or (("both sexes", "male", "female") if layout == "2020" else ())
    for b, sex in enumerate(titles):
        t1.cell(row=8, column=len(meta) + 1 + b * len(years), value=f"International migrant stock ({sex})")
    _put_row(t1, 11, [*meta, *years, *years, *years])
    sex_of = {"both sexes": "total", "male": "male", "female": "female"}
    order = [sex_of[t] for t in titles] or ["total", "male", "female"]

    def vals(dest_codes: list[int], origins: list[int] | None) -> list[Any]:
        out: list[Any] = []
        for sex in order:
            for y in years:
                total = sum(
                    world.stock(d, o, y, sex)
                    for (d, o) in world.od
                    if d in dest_codes and (origins is None or o in origins)
                )
                out.append(total if total or origins is None else "")
        return out

    rows = []
    dest_rows = [(WORLD, "WORLD", [c.code for c in world.countries])] + [
        (c.code, f"   {c.name(world.edition)}", [c.code]) for c in world.countries
    ]
    for dcode, dname, members in dest_rows:
        rows.append((dname, dcode, "WORLD", WORLD, vals(members, None)))
        if region_origins:
            for rcode, rname in sorted(world.regions().items()):
                rmembers = [c.code for c in world.countries if c.sdg_code == rcode]
                rows.append((dname, dcode, f"  {rname}", rcode, vals(members, rmembers)))
        for o in [*[c.code for c in world.countries], OTHER]:
            if any((d, o) in world.od for d in members):
                oname = "Other" if o == OTHER else f"   {world.country(o).name(world.edition)}"
                rows.append((dname, dcode, oname, o, vals(members, [o])))
    for i, (dname, dcode, oname, ocode, values) in enumerate(rows):
        dtype = "" if dcode >= 900 else "B R"
        if layout == "2020":
            m = [i + 1, dname, "", dcode, dtype, oname, ocode]
        else:
            m = [i + 1, dname, "", dtype, dcode, oname, ocode]
        _put_row(t1, 12 + i, [*m, *values])
    wb.create_sheet("Notes")
    wb.save(path)
    return path


def write_classification(path: Path, countries: list[Country] | None = None) -> Path:
    countries = countries or COUNTRIES
    wb = Workbook()
    ws = wb.active
    ws.title = "Annex"
    _titles(ws, 5, ["International Migrant Stock 2020", "Annex: Classification of countries and areas"])
    groups = [
        "",
        "",
        "",
        "",
        "Location Type",
        "",
        "Parent Location code",
        "WORLD",
        "Subregion",
        "",
        "SDG subregion",
        "",
        "SDG region",
        "",
        "Geographic region",
        "",
        "UN development groups",
        "",
        "",
        "",
        "World Bank income groups",
        "",
        "",
        "",
        "",
        "",
    ]
    names = [
        "Region, subregion, country or area*",
        "Notes",
        "Location code",
        "ISO3 Alpha-code",
        "Code",
        "Name",
        "",
        "Code",
        "Code",
        "Name",
        "Code",
        "Name",
        "Code",
        "Name",
        "Code",
        "Name",
        "More developed regions\n901",
        "Less developed regions\n902",
        "Least developed countries\n941",
        "Small Island Developing States (SIDS)\n1637",
        "High-income Countries\n1503",
        "Middle-income Countries\n1517",
        "Upper-middle-income Countries\n1502",
        "Lower-middle-income Countries\n1501",
        "Low-income Countries\n1500",
        "No income group available\n1518",
    ]
    _put_row(ws, 9, groups)
    _put_row(ws, 10, names)
    income_cols = {"High-income Countries": 20, "Upper-middle-income Countries": 22}
    r = 11
    _put_row(ws, r, ["WORLD", "", 900])
    r += 1
    for code, name in sorted({c.sdg_code: c.sdg_name for c in countries}.items()):
        _put_row(ws, r, [f"  {name}", "", code, "   ", 12, "SDG region", 1828])
        r += 1
    for c in countries:
        row: list[Any] = [
            f"   {c.name('2020')}",
            "",
            c.code,
            c.iso3,
            4,
            "Country/Area",
            900,
            900,
            900 + c.code % 7,
            c.subregion,
            "",
            "",
            c.sdg_code,
            c.sdg_name,
            903,
            "Somewhere",
        ]
        row += ["", 902, "", "", "", "", "", "", "", ""]
        col = income_cols.get(c.income, 22)
        row[col] = int(names[col].rsplit("\n", 1)[1])
        if c.income != "High-income Countries":
            row[21] = 1517
        _put_row(ws, r, row)
        r += 1
    wb.create_sheet("Notes")
    wb.save(path)
    return path


# --- editing, to break one thing at a time ---------------------------------------------------------


def set_cell(path: Path, sheet: str, cell: str, value: Any) -> Path:
    wb = load_workbook(path)
    wb[sheet][cell] = value
    wb.save(path)
    return path


def cell_value(path: Path, sheet: str, cell: str) -> Any:
    return load_workbook(path, read_only=True)[sheet][cell].value


def insert_rows(path: Path, sheet: str, before: int, count: int) -> Path:
    wb = load_workbook(path)
    wb[sheet].insert_rows(before, count)
    wb.save(path)
    return path


def find_cell(path: Path, sheet: str, predicate: Any) -> str:
    """Coordinate of the first cell whose value satisfies the predicate."""
    ws = load_workbook(path, read_only=True)[sheet]
    for row in ws.iter_rows():
        for cell in row:
            if cell.value is not None and predicate(cell.value):
                return str(cell.coordinate)
    raise LookupError(f"no matching cell in {path.name} {sheet}")


def official_names(edition: str) -> dict[str, str]:
    return {
        "origin_destination": f"undesa_pd_{edition}_ims_stock_by_sex_destination_and_origin.xlsx",
        "destination": f"undesa_pd_{edition}_ims_stock_by_sex_and_destination.xlsx",
        "origin": f"undesa_pd_{edition}_ims_stock_by_sex_and_origin.xlsx",
        "classification": "aggregates_correspondence_table_2020_1.xlsx",
    }


def locate(path: Path, sheet: str, name: str, year: int, block: int = 0) -> str:
    """Coordinate of a country's value for a year in a totals table (block 0 both sexes, 1 males, 2 females)."""
    from openpyxl.utils import get_column_letter

    ws = load_workbook(path, read_only=True)[sheet]
    rows = list(ws.iter_rows(values_only=True))
    header = next(i for i, r in enumerate(rows) if year in r)
    year_cols = [j for j, v in enumerate(rows[header]) if v == year]
    row = next(i for i, r in enumerate(rows) if isinstance(r[1], str) and r[1].strip().rstrip("*") == name)
    return f"{get_column_letter(year_cols[block] + 1)}{row + 1}"


def write_edition(
    world: World,
    folder: Path,
    *,
    od: bool = True,
    totals: bool = True,
    layout: str | None = None,
    region_origins: bool = False,
    headings: bool = False,
) -> dict[str, Path]:
    """The files of an edition under their official names; returns kind -> path."""
    folder.mkdir(parents=True, exist_ok=True)
    names = official_names(world.edition)
    files = {"classification": write_classification(folder / names["classification"])}
    if totals:
        files["destination"] = write_destination(world, folder / names["destination"], layout, headings=headings)
        files["origin"] = write_origin(world, folder / names["origin"], layout)
    if od:
        files["origin_destination"] = write_origin_destination(
            world, folder / names["origin_destination"], layout, region_origins=region_origins
        )
    return files


# --- the older editions: a totals workbook and an origin-destination matrix ------------------------

OTHER_NORTH, OTHER_SOUTH = 9901, 9902  # dbt_project/seeds/unknown_origins.csv
LEGACY_SEX_WORDS = {"total": "both sexes", "male": "male", "female": "female"}


def legacy_names(edition: str) -> dict[str, str]:
    return {
        "origin_destination": f"UN_MigrantStockByOriginAndDestination_{edition}.xlsx",
        "destination": f"UN_MigrantStockTotal_{edition}.xlsx",
        "classification": "aggregates_correspondence_table_2020_1.xlsx",
    }


def _other_split(world: World, dest: int, year: int, sex: str) -> tuple[int, int]:
    """The world's "Other" origin split into Other North (two fifths) and Other South, per sex."""
    m, f = world.od.get((dest, OTHER), {}).get(year, (0, 0))
    north_m, north_f = m * 2 // 5, f * 2 // 5
    north = {"total": north_m + north_f, "male": north_m, "female": north_f}[sex]
    return north, world.stock(dest, OTHER, year, sex) - north


def _legacy_titles(ws: Any, lines: list[str]) -> None:
    for i, line in enumerate(lines):
        ws.cell(row=5 + i, column=5, value=line)


def write_totals_legacy(world: World, path: Path, code_label: str = "Code") -> Path:
    """The totals workbook of Rev.2015-2019: Table 1 stocks and Table 2 population (thousands),
    labels on row 15 (block titles over the years), years on row 16, data from row 17; a heading
    row without a code ('UN development groups') among the aggregates."""
    years = world.years
    wb = Workbook()
    wb.active.title = "CONTENTS"
    for sheet, what, population in (("Table 1", "International migrant stock at mid-year", False),
                                    ("Table 2", "Total population at mid-year", True)):  # fmt: skip
        ws = _sheet(wb, sheet)
        title = (
            f"{sheet} -  Total population at mid-year by sex and by major area, region, country or area, "
            f"1990-{years[-1]} (thousands)"
            if population
            else f"{sheet} -  {what} by sex and by major area, region, country or area, 1990-{years[-1]}"
        )
        _legacy_titles(ws, ["United Nations", "Population Division", "", "", f"Workbook: {path.name}", title])
        meta = ["Sort\norder", "Major area, region, country or area of destination", "Notes", code_label]
        if not population:
            meta.append("Type of data (a)")
        first = len(meta) + 1
        for b, sex in enumerate(("both sexes", "male", "female")):
            whom = "population of both sexes" if sex == "both sexes" else f"{sex} population"
            label = f"Total {whom} at mid-year (thousands)" if population else f"{what} ({sex})"
            ws.cell(row=15, column=first + b * len(years), value=label)
        _put_row(ws, 15, meta)
        _put_row(ws, 16, [None] * len(meta) + [*years, *years, *years])

        def values(members: list[int], population: bool = population) -> list[Any]:
            out: list[Any] = []
            for sex in ("total", "male", "female"):
                for y in years:
                    if population:
                        idx = {"total": None, "male": 0, "female": 1}[sex]
                        vals = [world.population[d][y] for d in members]
                        out.append(round(sum(v[0] + v[1] if idx is None else v[idx] for v in vals), 3))
                    else:
                        out.append(sum(world.immigrants(d, y, sex) for d in members))
            return out

        everyone = [c.code for c in world.countries]
        rows: list[tuple[str, Any, int | str, list[Any]]] = [("WORLD", "", WORLD, values(everyone))]
        rows.append(("UN development groups", "", "", [".."] * (3 * len(years))))
        for code, name in sorted(world.regions().items()):
            rows.append((f"  {name}", "", code, values([c.code for c in world.countries if c.sdg_code == code])))
        rows += [(f"   {c.name(world.edition)}", "", c.code, values([c.code])) for c in world.countries]
        for i, (name, notes, code, vals) in enumerate(rows):
            m = [i + 1, name, notes, code] + ([] if population else ["B" if code and code != WORLD else ""])
            _put_row(ws, 17 + i, [*m, *vals])
    wb.create_sheet("ANNEX")
    wb.create_sheet("NOTES")
    wb.save(path)
    return path


def _matrix_origins(world: World, other_order: tuple[str, str]) -> list[tuple[str, int]]:
    """The origin columns right of Total: the two unknown origins in the given order, then the
    countries by name."""
    unknown = {"Other North": OTHER_NORTH, "Other South": OTHER_SOUTH}
    countries = sorted(((c.name(world.edition).rstrip("*"), c.code) for c in world.countries), key=lambda t: t[0])
    return [(label, unknown[label]) for label in other_order] + countries


def _matrix_cell(world: World, dest_codes: list[int], origin: int, year: int, sex: str) -> int:
    total = 0
    for d in dest_codes:
        if origin in (OTHER_NORTH, OTHER_SOUTH):
            north, south = _other_split(world, d, year, sex)
            total += north if origin == OTHER_NORTH else south
        else:
            total += world.stock(d, origin, year, sex)
    return total


def _matrix_rows(world: World, year: int, sex: str, origins: list[tuple[str, int]], empty: str) -> list[list[Any]]:
    """Destination rows of one year and sex: name, notes, code, type of data, Total, origins."""
    everyone = [c.code for c in world.countries]
    dests: list[tuple[str, int | str, list[int]]] = [("WORLD", WORLD, everyone), ("UN development groups", "", [])]
    dests += [(f"  {name}", code, [c.code for c in world.countries if c.sdg_code == code])
              for code, name in sorted(world.regions().items())]  # fmt: skip
    dests += [(f"   {c.name(world.edition)}", c.code, [c.code]) for c in world.countries]
    rows = []
    for name, code, members in dests:
        if code == "":
            rows.append([name, "", "", "", *([".."] * (1 + len(origins)))])
            continue
        cells = [_matrix_cell(world, members, o, year, sex) for _, o in origins]
        total = sum(cells)
        rows.append([name, "", code, "B" if code != WORLD else "", total, *(c if c else empty for c in cells)])
    return rows


def write_od_stacked(
    world: World,
    path: Path,
    *,
    sexes: tuple[str, ...] = ("total", "male", "female"),
    other_order: tuple[str, str] = ("Other South", "Other North"),
    empty: str = "",
) -> Path:
    """The matrix of Rev.2017/2019: a sheet per sex (Table 1 both sexes, 2 males, 3 females, each
    titled so), the years stacked as row blocks with a Year column, labels on row 15 and the
    origins on row 16 (Total, the two unknown origins, the countries). `empty` is what a cell with
    no migrants holds (blank, or '..' as in every empty cell of the 2017 table)."""
    wb = Workbook()
    contents = wb.active
    contents.title = "CONTENTS"
    _legacy_titles(
        contents, ["United Nations", "Population Division", "", "", f"Workbook: {path.name}", "TABLE OF CONTENTS"]
    )
    _put_row(contents, 16, ["TABLE", "TITLE"])
    origins = _matrix_origins(world, other_order)
    years = world.years
    for n, sex in enumerate(("total", "male", "female"), start=1):
        title = (
            f"International migrant stock at mid-year ({LEGACY_SEX_WORDS[sex]}) by major area, region, country or "
            f"area of destination and by country or area of origin, 1990-{years[-1]}"
        )
        _put_row(contents, 16 + n, [f"Table {n}", title if sex in sexes else "Not included"])
        if sex not in sexes:
            continue
        ws = _sheet(wb, f"Table {n}")
        _legacy_titles(
            ws, ["United Nations", "Population Division", "", "", f"Workbook: {path.name}", f"Table {n} - {title}"]
        )
        meta = ["Year", "Sort\norder", "Major area, region, country or area of destination", "Notes", "Code",
                "Type of data (a)", "Country or area of origin"]  # fmt: skip
        _put_row(ws, 15, meta)
        _put_row(ws, 16, [None] * 6 + ["Total", *(label for label, _ in origins)])
        r = 17
        for year in years:
            for i, row in enumerate(_matrix_rows(world, year, sex, origins, empty)):
                _put_row(ws, r, [year, year * 1000 + i + 1, *row])
                r += 1
    wb.create_sheet("ANNEX")
    wb.create_sheet("NOTES")
    wb.save(path)
    return path


def write_od_per_sheet(world: World, path: Path, *, sexes: tuple[str, ...] = ("total",)) -> Path:
    """The matrix of Rev.2015: one sheet per year and sex (Table 3k+1 both sexes, 3k+2 males, 3k+3
    females), the year and sex in the sheet's title, listed in CONTENTS (which names every table,
    also those a copy lacks)."""
    wb = Workbook()
    contents = wb.active
    contents.title = "CONTENTS"
    _legacy_titles(
        contents,
        ["United Nations", "Population Division", "", "", "Migrants by Destination and Origin", "TABLE OF CONTENTS"],
    )
    _put_row(contents, 16, ["TABLE", "TITLE"])
    origins = _matrix_origins(world, ("Other North", "Other South"))
    words = {"total": "Total", "male": "Male", "female": "Female"}
    n = 0
    for year in world.years:
        for sex in ("total", "male", "female"):
            n += 1
            title = (
                f"{words[sex]} migrant stock at mid-year by origin and by major area, region, country or area of "
                f"destination, {year}"
            )
            _put_row(contents, 16 + n, [f"Table {n}", title])
            if sex not in sexes:
                continue
            ws = _sheet(wb, f"Table {n}")
            _legacy_titles(
                ws,
                [
                    "United Nations",
                    "Population Division",
                    "",
                    "",
                    "Migrants by Destination and Origin",
                    f"Table {n}. {title}",
                ],
            )
            meta = ["Sort\norder", "Major area, region, country or area of destination", "Notes", "Country code",
                    "Type of data (a)", "Country of origin"]  # fmt: skip
            _put_row(ws, 15, meta)
            _put_row(ws, 16, [None] * 5 + ["Total", *(label for label, _ in origins)])
            for i, row in enumerate(_matrix_rows(world, year, sex, origins, "")):
                _put_row(ws, 17 + i, [i + 1, *row])
    wb.create_sheet("ANNEX")
    wb.create_sheet("NOTES")
    wb.save(path)
    return path


def write_legacy_edition(
    world: World,
    folder: Path,
    *,
    layout: str = "stacked",
    sexes: tuple[str, ...] = ("total", "male", "female"),
    other_order: tuple[str, str] = ("Other South", "Other North"),
    empty: str = "",
    code_label: str = "Code",
) -> dict[str, Path]:
    """An older edition's files under their official names: the totals workbook, the matrix (stacked,
    or one sheet per year and sex) and the classification."""
    folder.mkdir(parents=True, exist_ok=True)
    names = legacy_names(world.edition)
    files = {
        "classification": write_classification(folder / names["classification"]),
        "destination": write_totals_legacy(world, folder / names["destination"], code_label),
    }
    if layout == "stacked":
        files["origin_destination"] = write_od_stacked(
            world, folder / names["origin_destination"], sexes=sexes, other_order=other_order, empty=empty
        )
    else:
        files["origin_destination"] = write_od_per_sheet(world, folder / names["origin_destination"], sexes=sexes)
    return files
