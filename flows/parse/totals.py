"""Destination and origin workbooks: Table 1 stock totals per location, Table 2 total population.

Rows are keyed by location code. Aggregates (codes >= 900, and origin 2003 "Other") are kept as
they are published; a code listed twice (Australia/New Zealand is both an SDG region and a
subregion) is kept once when both rows agree and is an error when they do not, or when it is a
country.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from flows.errors import quoted
from flows.ingest.catalogue import Edition, FileKind
from flows.parse import labels, placeholders
from flows.parse.cells import (
    cell_text,
    clean_name,
    column_letter,
    count_value,
    location_code,
    location_name,
    name_key,
    provenance,
)
from flows.parse.header import block_label, data_rows, find_header, optional_column
from flows.parse.tables import Columns
from flows.parse.workbook import Sheet, Workbook

COUNTRY_CODE_LIMIT = 900


@dataclass(frozen=True)
class LocationRow:
    row: int  # 0-based sheet row
    code: int
    name: str
    kept: bool  # False for a repeated aggregate row that was dropped


def parse_destination(path: Path, sha256: str, edition: Edition) -> dict[str, pa.Table]:
    book = Workbook(path, placeholders(edition, FileKind.DESTINATION))
    stock, rows = _parse_stock_sheet(book.sheet("Table 1"), edition, sha256, "destination_totals")
    population = _parse_population(book.sheet("Table 2"), edition, sha256, rows)
    return {"destination_totals": stock.to_arrow(), "population": population.to_arrow()}


def parse_origin(path: Path, sha256: str, edition: Edition) -> dict[str, pa.Table]:
    book = Workbook(path, placeholders(edition, FileKind.ORIGIN))
    stock, _ = _parse_stock_sheet(book.sheet("Table 1"), edition, sha256, "origin_totals")
    return {"origin_totals": stock.to_arrow()}


def _parse_stock_sheet(sheet: Sheet, edition: Edition, sha256: str, table: str) -> tuple[Columns, list[LocationRow]]:
    header, roles = find_header(sheet, {"name": labels.is_name, "code": labels.is_code}, edition.years)
    notes_col = optional_column(header.labels, labels.is_notes)
    type_col = optional_column(header.labels, labels.is_data_type)
    name_col, code_col = roles["name"], roles["code"]
    out = Columns(table)
    seen: dict[int, tuple[int, list[object]]] = {}
    kept_rows: list[LocationRow] = []
    for r, row in data_rows(sheet, header):
        code = location_code(sheet, r, code_col, header.labels[code_col])
        values = [row[c] if c < len(row) else "" for b in header.blocks for c in b.columns]
        if code is None:
            if all(v in ("", "..") for v in values):
                continue  # a section heading such as "UN development groups"
            raise sheet.error("row has numbers but no location code", row=r, col=code_col)
        name = location_name(sheet, r, name_col, sheet.cell(r, name_col), header.labels[name_col])
        if code in seen:
            first_row, first_values = seen[code]
            if code < COUNTRY_CODE_LIMIT or first_values != values:
                raise sheet.error(
                    f"location code {code} ({name}) is listed again (first on row {first_row + 1})"
                    + ("" if code < COUNTRY_CODE_LIMIT else " with different values"),
                    row=r,
                    col=code_col,
                )
            kept_rows.append(LocationRow(r, code, name, kept=False))
            continue
        seen[code] = (r, values)
        kept_rows.append(LocationRow(r, code, name, kept=True))
        notes = cell_text(sheet.cell(r, notes_col)) if notes_col is not None else None
        data_type = cell_text(sheet.cell(r, type_col)) if type_col is not None else None
        for block in header.blocks:
            for c, year in zip(block.columns, block.years, strict=True):
                migrants, flag = count_value(sheet, r, c, sheet.cell(r, c), block_label(block, year))
                out.append(
                    release=edition.edition,
                    year=year,
                    sex=block.sex,
                    location_code=code,
                    location_name=name,
                    notes=notes,
                    data_type=data_type,
                    migrants=migrants,
                    value_flag=flag,
                    **provenance(sheet, sha256, r, column_letter(c)),
                )
    if not kept_rows:
        raise sheet.error("no data rows below the header", row=header.row)
    return out, kept_rows


def _parse_population(sheet: Sheet, edition: Edition, sha256: str, stock_rows: list[LocationRow]) -> Columns:
    """Table 2 (thousands) to persons, aligned with Table 1's locations in order.

    Rev.2024's Table 2 labels its column D "Location code" but fills it with data-type codes, so
    each Table 1 location is matched to the next Table 2 row of the same name; rows without
    figures in between (headings, notes) are passed over, and a numeric code column, where there
    is one, must agree.
    """
    header, roles = find_header(sheet, {"name": labels.is_name}, edition.years)
    title = sheet.title(header.row).lower()
    if "thousands" not in title:
        raise sheet.error("cannot tell the unit of the population figures (expected '(thousands)' in the title)")
    code_col = optional_column(header.labels, labels.is_code)
    name_col = roles["name"]
    year_cols = [c for b in header.blocks for c in b.columns]
    out = Columns("population")
    pending = iter(stock_rows)
    ref: LocationRow | None = next(pending, None)
    for r, _ in data_rows(sheet, header):
        if ref is None or name_key(sheet.cell(r, name_col)) != name_key(ref.name):
            if any(isinstance(sheet.cell(r, c), (int, float)) for c in year_cols):
                expected = f"Table 1 row {ref.row + 1} ({quoted(ref.name)})" if ref else "nothing more in Table 1"
                raise sheet.error(
                    f"location {quoted(clean_name(sheet.cell(r, name_col)))} does not match {expected}",
                    row=r,
                    col=name_col,
                )
            continue  # a heading or a note
        if code_col is not None:
            value = sheet.cell(r, code_col)
            if isinstance(value, (int, float)) and int(value) != ref.code:
                raise sheet.error(
                    f"location code {int(value)} differs from Table 1's {ref.code} for {quoted(ref.name)}",
                    row=r,
                    col=code_col,
                )
        current, ref = ref, next(pending, None)
        if not current.kept:
            continue
        for block in header.blocks:
            for c, year in zip(block.columns, block.years, strict=True):
                persons, flag = count_value(sheet, r, c, sheet.cell(r, c), block_label(block, year), scale=1000.0)
                out.append(
                    release=edition.edition,
                    year=year,
                    sex=block.sex,
                    location_code=current.code,
                    location_name=current.name,
                    population=persons,
                    value_flag=flag,
                    **provenance(sheet, sha256, r, column_letter(c)),
                )
    if ref is not None:
        raise sheet.error(f"has no row for Table 1's {quoted(ref.name)} (Table 1 row {ref.row + 1})")
    return out
