"""The origin-and-destination matrices of Rev.2015, Rev.2017 and Rev.2019: origins in columns.

Two layouts, each found by content:
- stacked (2017, 2019): one sheet per sex, the sex named by the sheet's title (`(both sexes)`,
  `(male)`, `(female)`), the years as blocks of rows told apart by a `Year` column;
- one sheet per year and sex (2015): the year and sex are read from the sheet's title (`Table 16.
  Total migrant stock at mid-year by origin ..., 2015`) and must agree with the CONTENTS sheet.

In both, a label row names the destination's columns (its name, `Code` or `Country code`), and the
row below it the origins: `Total` (the destination's total, landed as origin WORLD, 900, as in the
long layout), the unknown origins (`Other North`, `Other South`, whose codes are in
dbt_project/seeds/unknown_origins.csv; their order differs between editions) and the origin
countries by name. A name gets its code from the same table's destination rows, never from a typed
list, and a name that matches none is an error naming its cell. A blank origin cell lists no
migrants and is not landed (the long layout does not list such pairs either); the Total column is
landed whole, blanks included, so the reconciliation can compare it cell by cell. A workbook
without its male and female tables lands both sexes only; one without both-sexes tables is an
error.

Over 300 lines, on purpose: one layout, read end to end (the titles, the contents sheet, the two
header rows, the origin names, the rows, the coverage check), in the order a reader checks it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from flows.errors import ParseError, quoted
from flows.ingest.catalogue import Edition, FileKind
from flows.parse import Batches, labels
from flows.parse.cells import (
    Cell,
    as_year,
    column_letter,
    count_value,
    location_code,
    location_name,
    name_key,
    normalise_label,
)
from flows.parse.header import HEADER_SCAN_ROWS, SEX_LABELS, SEXES, sex_of
from flows.parse.origin_destination import BATCH_ROWS
from flows.parse.tables import Columns
from flows.parse.totals import COUNTRY_CODE_LIMIT
from flows.parse.unknown_origins import unknown_origin_codes
from flows.parse.workbook import Sheet, StreamedSheet, Workbook

WORLD = 900
TABLE_SHEET = re.compile(r"^\s*table\s+(\d+)\s*$", re.IGNORECASE)
TABLE_TITLE = re.compile(r"^\s*table\s+(\d+)\b", re.IGNORECASE)
TITLE_YEAR = re.compile(r",\s*((?:19|20)\d\d)\s*\.?\s*$")


@dataclass(frozen=True)
class MatrixHeader:
    label_row: int  # 0-based
    name_col: int
    code_col: int
    year_col: int | None  # the stacked layout's Year column
    total_col: int
    origins: tuple[tuple[int, str], ...]  # (column, label) right of Total: unknown origins and countries
    data_start: int


@dataclass(frozen=True)
class Table:
    """One sheet of the matrix: which sex it holds, and its year unless the rows say."""

    sheet: StreamedSheet
    header: MatrixHeader
    sex: str
    year: int | None


@dataclass(frozen=True)
class Row:
    table: Table
    r: int
    year: int
    dest: int
    dest_name: str
    cells: list[Cell]


def matrix_header(sheet: Sheet) -> MatrixHeader | None:
    """The sheet's matrix header, or None when it is not a matrix (the long layout, say)."""
    return _find_header(sheet, required=False)


def stream_od_matrix(book: Workbook, first: StreamedSheet, sha256: str, edition: Edition) -> Batches:
    """Every table's header, title and year are checked now; the rows are parsed as consumed.
    `first` is the workbook's `Table 1`, already opened by the caller to tell the layout."""
    tables = _tables(book, first, edition)
    spec = edition.file(FileKind.ORIGIN_DESTINATION)
    none_marker = spec.none_marker if spec is not None else None
    rows = _rows(tables, edition)
    return {"od_stock": _batches(rows, tables, none_marker, book.path.name, sha256, edition.edition)}


# --- the tables ------------------------------------------------------------------------------------


def _tables(book: Workbook, first: StreamedSheet, edition: Edition) -> list[Table]:
    names = sorted((n for n in book.sheet_names if TABLE_SHEET.match(n)), key=lambda n: int(_table_number(n)))
    contents = _contents(book)
    tables = []
    for name in names:
        sheet = first if name == first.name else book.stream(name)
        header = _find_header(sheet)
        assert header is not None
        title, title_row = _title(sheet, header.label_row)
        titled = TABLE_TITLE.match(title)
        if titled is not None and int(titled.group(1)) != int(_table_number(name)):
            raise sheet.error(f"the sheet's title names Table {titled.group(1)} ({quoted(title)})", row=title_row)
        sex = sex_of(title)
        if sex is None:
            raise sheet.error(f"cannot tell from the title {quoted(title)} which sex the table holds", row=title_row)
        year = None
        if header.year_col is None:
            found = TITLE_YEAR.search(title)
            if found is None:
                raise sheet.error(
                    f"the title {quoted(title)} names no year, and the table has no Year column", title_row
                )
            year = int(found.group(1))
            if year not in edition.years:
                raise sheet.error(
                    f"the title names {year}, not one of the edition's reference years {edition.years}", title_row
                )
        if contents is not None:
            _check_contents(contents, sheet, sex, year, title_row)
        tables.append(Table(sheet, header, sex, year))
    _check_coverage(book.path, tables, edition)
    return tables


def _table_number(name: str) -> str:
    match = TABLE_SHEET.match(name)
    assert match is not None
    return match.group(1)


def _find_header(sheet: Sheet, *, required: bool = True) -> MatrixHeader | None:
    """The label row (destination name and code) with the origins' row under it, starting at `Total`."""
    for r in range(min(HEADER_SCAN_ROWS, len(sheet.rows) - 1)):
        labs = [normalise_label(v) for v in sheet.rows[r]]
        name_col = next((c for c, lab in enumerate(labs) if lab and labels.is_name(lab)), None)
        code_col = next((c for c, lab in enumerate(labs) if lab and labels.is_code(lab)), None)
        if name_col is None or code_col is None:
            continue
        below = [normalise_label(v) for v in sheet.rows[r + 1]]
        total_col = next((c for c, lab in enumerate(below) if lab == "total" and c > code_col), None)
        if total_col is None:
            if not required:
                return None
            raise sheet.error(
                "found the destination labels but no origins ('Total', then the origin names) on the row below",
                row=r + 1,
            )
        year_col = next((c for c, lab in enumerate(labs) if lab and labels.is_year(lab)), None)
        origins = tuple(
            (c, location_name(sheet, r + 1, c, v, "origin"))
            for c, v in enumerate(sheet.rows[r + 1])
            if c > total_col and normalise_label(v)
        )
        if not origins:
            raise sheet.error("no origin names right of 'Total'", row=r + 1, col=total_col)
        sheet.require_readable([name_col, code_col, year_col, total_col, *(c for c, _ in origins)], r + 2)
        return MatrixHeader(r, name_col, code_col, year_col, total_col, origins, r + 2)
    if not required:
        return None
    raise sheet.error(
        f"no header row found in the first {HEADER_SCAN_ROWS} rows (looked for the destination's name and "
        "code labels, with the origins' names on the row below)"
    )


def _title(sheet: Sheet, header_row: int) -> tuple[str, int]:
    """The table's own title line (`Table 16. Total migrant stock ...`) above the header."""
    for r in range(header_row):
        for value in sheet.rows[r]:
            if isinstance(value, str) and TABLE_TITLE.match(value):
                return re.sub(r"\s+", " ", value).strip(), r
    raise sheet.error(f"no title ('Table N ...') above the header on row {header_row + 1}")


def _contents(book: Workbook) -> Sheet | None:
    name = next((n for n in book.sheet_names if n.strip().casefold() in ("contents", "table of contents")), None)
    return book.sheet(name) if name is not None else None


def _check_contents(contents: Sheet, sheet: Sheet, sex: str, year: int | None, title_row: int) -> None:
    """The table of contents must list the sheet with the same sex (and year) as its own title."""
    wanted = sheet.name.strip().casefold()
    for r, row in enumerate(contents.rows):
        cells = [v for v in row if isinstance(v, str) and v.strip()]
        if len(cells) >= 2 and cells[0].strip().casefold() == wanted:
            listed = re.sub(r"\s+", " ", cells[1]).strip()
            listed_year = TITLE_YEAR.search(listed)
            if sex_of(listed) != sex or (year is not None and (not listed_year or int(listed_year.group(1)) != year)):
                said = f"{SEX_LABELS[sex]}" + (f", {year}" if year is not None else "")
                raise contents.error(
                    f"lists {sheet.name} as {quoted(listed)}, but the sheet's own title (row {title_row + 1}) "
                    f"says {said}",
                    row=r,
                )
            return
    raise contents.error(f"does not list {sheet.name}")


def _check_coverage(path: Path, tables: list[Table], edition: Edition) -> None:
    """Each sex's tables cover the edition's years once; both sexes must be there, males and
    females either whole or not at all."""
    seen: dict[tuple[str, int | None], str] = {}
    for t in tables:
        key = (t.sex, t.year)
        if key in seen:
            what = SEX_LABELS[t.sex] + (f", {t.year}" if t.year is not None else "")
            raise ParseError(path, f"{seen[key]} and {t.sheet.name} both hold {what}")
        seen[key] = t.sheet.name
    for sex in SEXES:
        mine = [t for t in tables if t.sex == sex]
        if not mine:
            if sex == "total":
                raise ParseError(path, "no both-sexes table (only " + ", ".join(t.sheet.name for t in tables) + ")")
            continue
        if mine[0].year is not None:
            missing = [y for y in edition.years if (sex, y) not in seen]
            if missing:
                raise ParseError(path, f"no {SEX_LABELS[sex]} table for {missing} (it has one for the other years)")


# --- the rows --------------------------------------------------------------------------------------


def _rows(tables: list[Table], edition: Edition) -> Iterator[Row]:
    for table in tables:
        sheet, header = table.sheet, table.header
        years: set[int] = set()
        for r, cells in sheet.rows_from(header.data_start):
            if not any(v != "" and v is not None for v in cells):
                continue
            year = table.year
            if header.year_col is not None:
                year = as_year(sheet.cell(r, header.year_col))
                if year is None or year not in edition.years:
                    raw = sheet.cell(r, header.year_col)
                    shown = year if year is not None else repr(raw)
                    raise sheet.error(
                        f"year {shown} is not one of the edition's reference years {edition.years}",
                        row=r,
                        col=header.year_col,
                    )
                years.add(year)
            assert year is not None
            dest = location_code(sheet, r, header.code_col, "code")
            if dest is None:
                values = [
                    cells[c] if c < len(cells) else "" for c in (header.total_col, *(c for c, _ in header.origins))
                ]
                if all(v in ("", "..", None) for v in values):
                    continue  # a section heading such as "UN development groups"
                raise sheet.error("row has numbers but no location code", row=r, col=header.code_col)
            name = location_name(sheet, r, header.name_col, sheet.cell(r, header.name_col), "destination")
            yield Row(table, r, year, dest, name, cells)
        if header.year_col is not None and (missing := [y for y in edition.years if y not in years]):
            raise sheet.error(f"no rows for the reference years {missing}")


def _batches(
    rows: Iterator[Row],
    tables: list[Table],
    none_marker: str | None,
    file_name: str,
    sha256: str,
    release: str,
) -> Iterator[pa.RecordBatch]:
    """Rows are held back until the first table's first block of years has been read: its
    destination rows give every origin name its code."""
    out = Columns("od_stock")
    pending: list[Row] = []
    origins: dict[int, list[tuple[int, int, str]]] | None = None  # table index -> (column, code, name)
    seen: dict[tuple[int, str, int], tuple[int, list[Cell]]] = {}
    index = {id(t): i for i, t in enumerate(tables)}
    for row in rows:
        if origins is None:
            if not pending or (row.table is pending[0].table and row.year == pending[0].year):
                pending.append(row)
                continue
            origins = _origin_codes(tables, pending)
        for ready in [*pending, row]:
            _land(out, ready, origins[index[id(ready.table)]], none_marker, seen, file_name, sha256, release)
        pending.clear()
        if len(out) >= BATCH_ROWS:
            yield out.take_batch()
    if origins is None:
        if not pending:
            raise tables[0].sheet.error("no data rows below the header", row=tables[0].header.label_row)
        origins = _origin_codes(tables, pending)
        for ready in pending:
            _land(out, ready, origins[index[id(ready.table)]], none_marker, seen, file_name, sha256, release)
    if len(out):
        yield out.take_batch()


def _origin_codes(tables: list[Table], first_block: list[Row]) -> dict[int, list[tuple[int, int, str]]]:
    """Each table's origin columns with their codes: the unknown origins by label, the countries by
    the destination rows of the first block read."""
    by_name: dict[str, set[int]] = {}
    for row in first_block:
        by_name.setdefault(name_key(row.dest_name), set()).add(row.dest)
    unknown = unknown_origin_codes()
    resolved = {}
    for i, table in enumerate(tables):
        columns = [(table.header.total_col, WORLD, "Total")]
        for col, label in table.header.origins:
            if (code := unknown.get(label.casefold())) is not None:
                columns.append((col, code, label))
                continue
            countries = {c for c in by_name.get(name_key(label), set()) if c < COUNTRY_CODE_LIMIT}
            if len(countries) != 1:
                problem = (
                    f"origin {quoted(label)} matches no country among the table's destination rows, so it has no "
                    "location code"
                    if not countries
                    else f"origin {quoted(label)} matches several destination rows ({sorted(countries)})"
                )
                raise table.sheet.error(problem, row=table.header.label_row + 1, col=col)
            columns.append((col, countries.pop(), label))
        resolved[i] = columns
    return resolved


def _land(
    out: Columns,
    row: Row,
    origins: list[tuple[int, int, str]],
    none_marker: str | None,
    seen: dict[tuple[int, str, int], tuple[int, list[Cell]]],
    file_name: str,
    sha256: str,
    release: str,
) -> None:
    table, sheet, r, cells = row.table, row.table.sheet, row.r, row.cells
    key = (row.year, table.sex, row.dest)
    values = [cells[c] if c < len(cells) else "" for c, _, _ in origins]
    if key in seen:
        first_row, first_values = seen[key]
        if row.dest < COUNTRY_CODE_LIMIT or first_values != values:
            raise sheet.error(
                f"destination {row.dest} ({row.dest_name}) is listed again for {row.year} (first on row "
                f"{first_row + 1})" + ("" if row.dest < COUNTRY_CODE_LIMIT else " with different values"),
                row=r,
                col=table.header.code_col,
            )
        return  # an aggregate listed twice with the same figures
    seen[key] = (r, values)
    sex_label = SEX_LABELS[table.sex]
    for (col, code, label), value in zip(origins, values, strict=True):
        if code != WORLD and (value in ("", None) or (none_marker is not None and value == none_marker)):
            continue  # no migrants listed for this pair
        migrants, flag = count_value(sheet, r, col, value, f"{row.year}, {sex_label}, origin {label}")
        out.add(
            release, row.year, table.sex, row.dest, row.dest_name, code, label, migrants, flag,
            file_name, sha256, sheet.name, r + 1, column_letter(col),
        )  # fmt: skip
