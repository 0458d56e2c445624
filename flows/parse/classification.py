"""The location classification (`Annex` of aggregates_correspondence_table_2020_1.xlsx).

Its header spans two rows: group labels (`Subregion`, `SDG region`, ...) over repeated `Code` /
`Name` cells, and membership columns whose label ends with the group's code
(`Least developed countries\\n941`) and whose cells hold that code for members. Columns are
resolved by (group, label), never by position.
"""

from __future__ import annotations

import re
from pathlib import Path

import pyarrow as pa

from flows.errors import ParseError
from flows.ingest.catalogue import Edition
from flows.parse import labels
from flows.parse.cells import clean_name, location_code, location_name, normalise_label, provenance
from flows.parse.header import HEADER_SCAN_ROWS, data_rows
from flows.parse.header import Header as _Header
from flows.parse.tables import Columns
from flows.parse.workbook import Sheet, Workbook

SHEET = "Annex"
INCOME_GROUPS = (1503, 1502, 1501, 1500, 1518)  # high, upper-middle, lower-middle, low, none
MORE_DEVELOPED, LESS_DEVELOPED, LDC, LLDC, SIDS = 901, 902, 941, 1636, 1637
PAIRS = {
    "location type": "location_type",
    "subregion": "subregion",
    "sdg subregion": "sdg_subregion",
    "sdg region": "sdg_region",
    "geographic region": "geographic_region",
}


def parse_classification(path: Path, sha256: str, edition: Edition) -> dict[str, pa.Table]:
    sheet = Workbook(path).sheet(SHEET)
    header_row = _find_header_row(sheet)
    columns = _resolve_columns(sheet, header_row)
    sheet.require_readable(columns.values(), header_row + 1)
    out = Columns("locations")
    seen: set[int] = set()
    header = _Header(header_row, (), (), header_row + 1)
    for r, row in data_rows(sheet, header):
        code = location_code(sheet, r, columns["code"], "Location code")
        if code is None or code in seen:
            continue
        seen.add(code)

        def cell(role: str, row: list[object] = row) -> object:
            c = columns.get(role)
            return row[c] if c is not None and c < len(row) else ""

        members = {group for group, c in columns.items() if isinstance(group, int) and _member(row, c)}
        income = next((g for g in INCOME_GROUPS if g in members), None)
        iso3 = str(cell("iso3")).strip().upper() or None
        out.append(
            release=edition.edition,
            location_code=code,
            location_name=location_name(sheet, r, columns["name"], cell("name"), "name"),
            iso3=iso3,
            location_type=_str(cell("location_type_name")),
            parent_code=_int(sheet, r, columns.get("parent_code")),
            subregion_code=_int(sheet, r, columns.get("subregion_code")),
            subregion_name=_str(cell("subregion_name")),
            sdg_subregion_code=_int(sheet, r, columns.get("sdg_subregion_code")),
            sdg_subregion_name=_str(cell("sdg_subregion_name")),
            sdg_region_code=_int(sheet, r, columns.get("sdg_region_code")),
            sdg_region_name=_str(cell("sdg_region_name")),
            geographic_region_code=_int(sheet, r, columns.get("geographic_region_code")),
            geographic_region_name=_str(cell("geographic_region_name")),
            development_group=(
                "More developed regions"
                if MORE_DEVELOPED in members
                else "Less developed regions"
                if LESS_DEVELOPED in members
                else None
            ),
            income_group_code=income,
            income_group_name=columns.names.get(income) if income else None,
            is_least_developed=LDC in members,
            is_landlocked_developing=LLDC in members,
            is_small_island_developing=SIDS in members,
            **provenance(sheet, sha256, r, "C"),
        )
    if not seen:
        raise sheet.error("no locations below the header", row=header_row)
    return {"locations": out.to_arrow()}


class _Columns(dict[object, int]):
    names: dict[int | None, str]


def _find_header_row(sheet: Sheet) -> int:
    for r in range(min(HEADER_SCAN_ROWS, len(sheet.rows))):
        labs = [normalise_label(v) for v in sheet.rows[r]]
        if "location code" in labs and any(lab.startswith("iso3") for lab in labs):
            return r
    raise sheet.error(f"no header row with 'Location code' and 'ISO3 Alpha-code' in the first {HEADER_SCAN_ROWS} rows")


def _resolve_columns(sheet: Sheet, header_row: int) -> _Columns:
    cols = _Columns()
    cols.names = {}
    group = ""
    above = sheet.rows[header_row - 1] if header_row > 0 else []
    for c, value in enumerate(sheet.rows[header_row]):
        label = normalise_label(value)
        group_label = normalise_label(above[c]) if c < len(above) else ""
        if group_label:
            group = group_label
        if labels.is_name(label):
            cols["name"] = c
        elif label == "location code":
            cols["code"] = c
        elif label.startswith("iso3"):
            cols["iso3"] = c
        elif group == "parent location code" and not label:
            cols["parent_code"] = c
        elif group in PAIRS and label in {"code", "name"}:
            cols[f"{PAIRS[group]}_{label}"] = c
        elif (m := re.search(r"(\d{3,4})$", label)) is not None:
            code = int(m.group(1))
            cols[code] = c
            cols.names[code] = clean_name(str(value).rsplit("\n", 1)[0]) if isinstance(value, str) else label
    for role in ("name", "code", "iso3", "sdg_region_name", "subregion_name"):
        if role not in cols:
            raise ParseError(sheet.path, f"no '{role}' column in the header", sheet=sheet.name, row=header_row + 1)
    return cols


def _member(row: list[object], c: int) -> bool:
    return c < len(row) and row[c] not in ("", None)


def _str(value: object) -> str | None:
    text = clean_name(value) if value not in ("", None) else ""
    return text or None


def _int(sheet: Sheet, r: int, c: int | None) -> int | None:
    return None if c is None else location_code(sheet, r, c, "code")
