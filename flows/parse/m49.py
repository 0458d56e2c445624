"""UNSD's M49 list (`UNSD — Methodology.csv`): current names, ISO codes and the LDC, LLDC and SIDS
groups of every country or area.

The export is UTF-8 with a byte-order mark, semicolon-separated, codes zero-padded (`012`), group
membership marked `x`. Columns are found by their labels, so a re-ordered export reads the same.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pyarrow as pa

from flows.errors import ParseError, quoted
from flows.ingest.catalogue import Edition
from flows.parse.cells import MAX_LOCATION_CODE, MAX_NAME_CHARS
from flows.parse.tables import Columns

COLUMNS = {
    "code": "m49 code",
    "name": "country or area",
    "iso2": "iso-alpha2 code",
    "iso3": "iso-alpha3 code",
    "region": "region name",
    "subregion": "sub-region name",
    "intermediate": "intermediate region name",
    "ldc": "least developed countries (ldc)",
    "lldc": "land locked developing countries (lldc)",
    "sids": "small island developing states (sids)",
}


def parse_m49(path: Path, sha256: str, edition: Edition) -> dict[str, pa.Table]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ParseError(path, f"not UTF-8 text ({exc})") from exc
    rows = list(csv.reader(text.splitlines(), delimiter=";"))
    if not rows or len(rows[0]) < len(COLUMNS):
        raise ParseError(path, "not the semicolon-separated M49 export (its first line has too few columns)")
    header = [h.strip().casefold() for h in rows[0]]
    missing = [label for label in COLUMNS.values() if label not in header]
    if missing:
        raise ParseError(path, f"no column {quoted(missing[0])} in the header (it has: {', '.join(rows[0])})", row=1)
    col = {role: header.index(label) for role, label in COLUMNS.items()}
    out = Columns("m49")
    seen: dict[int, int] = {}
    for number, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue

        def cell(role: str, row: list[str] = row) -> str:
            return row[col[role]].strip() if col[role] < len(row) else ""

        code_text = cell("code")
        if not code_text.isdigit():
            raise ParseError(path, f"M49 code {quoted(code_text)} is not a number", row=number, column="M49 Code")
        code = int(code_text)
        if code > MAX_LOCATION_CODE:
            raise ParseError(path, f"M49 code {quoted(code_text)} has too many digits", row=number, column="M49 Code")
        if any(len(cell(role)) > MAX_NAME_CHARS for role in COLUMNS):
            role = next(r for r in COLUMNS if len(cell(r)) > MAX_NAME_CHARS)
            raise ParseError(
                path,
                f"a text of {len(cell(role)):,} characters (at most {MAX_NAME_CHARS}): {quoted(cell(role), 60)}",
                row=number,
                column=COLUMNS[role],
            )
        if code in seen:
            raise ParseError(path, f"M49 code {code} is listed again (first on line {seen[code]})", row=number)
        seen[code] = number
        out.append(
            release=edition.edition,
            location_code=code,
            location_name=cell("name"),
            iso2=cell("iso2") or None,
            iso3=cell("iso3") or None,
            region_name=cell("region") or None,
            subregion_name=cell("subregion") or None,
            intermediate_region_name=cell("intermediate") or None,
            is_least_developed=cell("ldc").lower() == "x",
            is_landlocked_developing=cell("lldc").lower() == "x",
            is_small_island_developing=cell("sids").lower() == "x",
            source_file=path.name,
            source_sha256=sha256,
            source_sheet=None,
            source_row=number,
            source_column=None,
        )
    if not seen:
        raise ParseError(path, "no rows below the header")
    return {"m49": out.to_arrow()}
