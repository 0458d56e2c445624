"""The origin-and-destination workbook: one row per (destination, origin), stocks per year and sex.

Columns are found by label, so both known layouts read the same way: Rev.2020 (`Notes of
destination`, `Location code of destination`, `Type of data of destination`, ...) and Rev.2024
(`Coverage`, `Data type`, then `Location code of destination`). Origin rows may include WORLD
(900, the destination's total), region aggregates and 2003 "Other"; all are kept as published and
the dbt staging layer decides what counts as a country pair.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa

from flows.errors import ParseError
from flows.ingest.catalogue import Edition, FileKind
from flows.parse import Batches, labels, placeholders
from flows.parse.cells import column_letter, count_value, location_code, location_name
from flows.parse.header import Header, YearBlock, block_label, data_rows, find_header
from flows.parse.tables import Columns
from flows.parse.totals import COUNTRY_CODE_LIMIT
from flows.parse.workbook import StreamedSheet, Workbook

SHEET = "Table 1"
BATCH_ROWS = 262_144  # long rows per Arrow batch: about 60 MB of Python objects at most


def parse_origin_destination(path: Path, sha256: str, edition: Edition) -> dict[str, pa.Table]:
    """The whole table at once (tests, small files); the refresh lands `stream_origin_destination`."""
    batches = stream_origin_destination(path, sha256, edition)["od_stock"]
    return {"od_stock": pa.Table.from_batches(list(batches), schema=Columns("od_stock").schema)}


def stream_origin_destination(path: Path, sha256: str, edition: Edition) -> Batches:
    """The header is read and checked now; the rows are parsed as the batches are consumed, so
    memory does not grow with the sheet. A problem further down raises from the iteration.

    The layout is told by the header of `Table 1`: the long table of Rev.2020/2024 (one row per
    destination and origin), or the matrix of Rev.2015-2019 (origins in columns, flows.parse.od_matrix)."""
    book = Workbook(path, placeholders(edition, FileKind.ORIGIN_DESTINATION))
    sheet = book.stream(_first_table(book))
    try:
        header, roles = find_header(
            sheet,
            {"destination_code": labels.is_destination_code, "origin_code": labels.is_origin_code},
            edition.years,
        )
    except ParseError:
        from flows.parse.od_matrix import matrix_header, stream_od_matrix

        if matrix_header(sheet) is None:
            raise
        return stream_od_matrix(book, sheet, sha256, edition)
    dest_name_col = next((i for i, lab in enumerate(header.labels) if labels.is_destination_name(lab)), None)
    origin_name_col = next((i for i, lab in enumerate(header.labels) if labels.is_origin_name(lab)), None)
    dest_col, origin_col = roles["destination_code"], roles["origin_code"]
    cells = [
        (block, c, year, column_letter(c), block_label(block, year))
        for block in header.blocks
        for c, year in zip(block.columns, block.years, strict=True)
    ]
    columns = (dest_col, origin_col, dest_name_col, origin_name_col)
    return {"od_stock": _batches(sheet, header, columns, cells, path.name, sha256, edition.edition)}


def _first_table(book: Workbook) -> str:
    """`Table 1`, or in a matrix that lacks it the lowest-numbered table, whose header tells the
    layout (the matrix parser then says which table is missing)."""
    import re

    numbered = sorted(
        (int(m.group(1)), name) for name in book.sheet_names if (m := re.fullmatch(r"\s*table\s+(\d+)\s*", name, re.I))
    )
    return numbered[0][1] if numbered and numbered[0][0] != 1 else SHEET


def _batches(
    sheet: StreamedSheet,
    header: Header,
    columns: tuple[int, int, int | None, int | None],
    cells: list[tuple[YearBlock, int, int, str, str]],
    file_name: str,
    sha256: str,
    release: str,
) -> Iterator[pa.RecordBatch]:
    dest_col, origin_col, dest_name_col, origin_name_col = columns
    out = Columns("od_stock")
    seen: dict[tuple[int, int], tuple[int, list[object] | None]] = {}
    sheet_name = sheet.name
    n_rows = 0
    for r, row in data_rows(sheet, header):
        dest = location_code(sheet, r, dest_col, header.labels[dest_col])
        origin = location_code(sheet, r, origin_col, header.labels[origin_col])
        values = [row[c] if c < len(row) else "" for _, c, _, _, _ in cells]
        if dest is None or origin is None:
            if all(v in ("", "..") for v in values):
                continue
            missing_col = dest_col if dest is None else origin_col
            raise sheet.error("row has numbers but no location code", row=r, col=missing_col)
        if _repeated(sheet, seen, (dest, origin), r, values, dest_col):
            continue
        n_rows += 1
        dest_name = _name(sheet, r, row, dest_name_col, "destination")
        origin_name = _name(sheet, r, row, origin_name_col, "origin")
        for (block, c, year, letter, label), value in zip(cells, values, strict=True):
            migrants, flag = count_value(sheet, r, c, value, label)
            out.add(
                release, year, block.sex, dest, dest_name, origin, origin_name, migrants, flag,
                file_name, sha256, sheet_name, r + 1, letter,
            )  # fmt: skip
        if len(out) >= BATCH_ROWS:
            yield out.take_batch()
    if n_rows == 0:
        raise sheet.error("no data rows below the header", row=header.row)
    if len(out):
        yield out.take_batch()


def _repeated(
    sheet: StreamedSheet,
    seen: dict[tuple[int, int], tuple[int, list[object] | None]],
    key: tuple[int, int],
    r: int,
    values: list[object],
    dest_col: int,
) -> bool:
    """Whether (destination, origin) was listed before. `seen` keeps the first row of each, and an
    aggregate's figures too, to tell a harmless repeat (an aggregate destination listed twice with
    the same figures: passed over) from a conflicting one (refused). A country pair is never
    repeated, so its figures are not kept."""
    dest, origin = key
    is_pair = dest < COUNTRY_CODE_LIMIT and origin < COUNTRY_CODE_LIMIT
    if key not in seen:
        seen[key] = (r, None if is_pair else values)
        return False
    first_row, first_values = seen[key]
    if is_pair or first_values != values:
        raise sheet.error(
            f"destination {dest} / origin {origin} is listed again (first on row {first_row + 1})"
            + ("" if is_pair else " with different values"),
            row=r,
            col=dest_col,
        )
    return True


def _name(sheet: StreamedSheet, r: int, row: list[object], col: int | None, label: str) -> str | None:
    return location_name(sheet, r, col, row[col], label) if col is not None else None
