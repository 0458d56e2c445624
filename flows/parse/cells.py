"""What one cell of a release workbook means: a location's name or code, a count of people, a
year, a label. Each reader refuses, naming the file, sheet, row and column, what a cell of its
kind cannot hold (a name longer than any place's, a code no classification uses, more people than
live on Earth)."""

from __future__ import annotations

import math
import re
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from flows.errors import quoted

if TYPE_CHECKING:
    from flows.parse.workbook import Sheet

Cell = Any
# Bounds of what a cell can mean. The longest place name in any edition is 52 characters (the United
# Kingdom's); M49 codes have 3 digits and UN DESA's aggregates 4; the world has 8 billion people.
MAX_NAME_CHARS = 200
MAX_LOCATION_CODE = 99_999
MAX_COUNT = 20_000_000_000


def column_letter(index: int) -> str:
    """0-based column index to Excel letters (0 -> A, 27 -> AB)."""
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def normalise_label(value: Cell) -> str:
    return re.sub(r"\s+", " ", str(value)).strip().lower() if isinstance(value, str) else ""


def location_name(sheet: Sheet, row: int, col: int, value: Cell, label: str) -> str:
    """A location's name, as `clean_name` gives it; text longer than any place's name is refused
    (it would be published into every mart that names places)."""
    name = clean_name(value)
    if len(name) > MAX_NAME_CHARS:
        raise sheet.error(
            f"a text of {len(name):,} characters where a location's name is expected (at most "
            f"{MAX_NAME_CHARS}): {quoted(name, 60)}",
            row=row,
            col=col,
            label=label,
        )
    return name


def clean_name(value: Cell) -> str:
    """Drop the indentation and trailing footnote marks (`Curaçao*`) that names carry."""
    text = re.sub(r"\s+", " ", str(value)).strip()
    return text.rstrip("*").rstrip()


def cell_text(value: Cell) -> str | None:
    """A metadata cell (notes, data type) as text: footnote numbers arrive as floats (41.0)."""
    if value is None or value == "":
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return re.sub(r"\s+", " ", str(value)).strip() or None


def name_key(value: Cell) -> str:
    return clean_name(value).casefold()


def as_year(value: Cell) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if math.isfinite(value) and float(value).is_integer() and 1900 <= value <= 2100:
            return int(value)
        return None
    if isinstance(value, str) and re.fullmatch(r"\s*(19|20)\d\d(\.0)?\s*", value):
        return int(float(value))
    return None


def location_code(sheet: Sheet, row: int, col: int, label: str) -> int | None:
    """A location code cell: a whole number, or empty (a section heading row)."""
    value = sheet.cell(row, col)
    if value == "" or value is None:
        return None
    code = None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if math.isfinite(value) and float(value).is_integer() and value >= 0:
            code = int(value)
    elif isinstance(value, str) and value.strip().isdigit():
        code = int(value.strip())
    if code is not None and code > MAX_LOCATION_CODE:
        raise sheet.error(
            f"location code {code} is not a location code (M49 and UN DESA's own codes have at most "
            f"{len(str(MAX_LOCATION_CODE))} digits)",
            row=row,
            col=col,
            label=label,
        )
    if code is not None:
        return code
    raise sheet.error(f"location code {quoted(value)} is not a whole number", row=row, col=col, label=label)


def count_value(
    sheet: Sheet, row: int, col: int, value: Cell, label: str, *, scale: float = 1.0
) -> tuple[int | None, str | None]:
    """A number cell as a whole count (or None with the placeholder seen); anything else is an error."""
    if type(value) is float or type(value) is int:
        number = float(value) * scale
        if not math.isfinite(number):
            raise sheet.error(f"value {quoted(value)} is not a finite number", row=row, col=col, label=label)
        if number > MAX_COUNT:
            raise sheet.error(
                f"value {quoted(value)} is more people than live on Earth (at most {MAX_COUNT:,})",
                row=row,
                col=col,
                label=label,
            )
        rounded = round(number)
        if number < 0:
            raise sheet.error(
                f"negative value {quoted(value)} where a count is expected", row=row, col=col, label=label
            )
        if scale == 1.0 and abs(number - rounded) > 1e-6:
            raise sheet.error(f"value {quoted(value)} is not a whole number of people", row=row, col=col, label=label)
        return int(rounded), None
    if isinstance(value, str):
        text = value.strip()
        if text in sheet.placeholders:
            return None, text or "empty"
        compact = text.replace(",", "").replace(" ", "").replace("\u00a0", "")
        if re.fullmatch(r"-?\d+(\.\d+)?", compact):
            return count_value(sheet, row, col, float(compact), label, scale=scale)
        raise sheet.error(
            f"text {quoted(value)} where a number is expected (known placeholders: "
            f"{', '.join(quoted(p) for p in sorted(sheet.placeholders) if p)})",
            row=row,
            col=col,
            label=label,
        )
    if value is None:
        return None, "empty"
    if isinstance(value, (bool, date, datetime, time, timedelta)):
        raise sheet.error(
            f"{type(value).__name__} value {quoted(value)} where a number is expected", row=row, col=col, label=label
        )
    raise sheet.error(f"unexpected cell value {quoted(value)}", row=row, col=col, label=label)


def provenance(sheet: Sheet, sha256: str, row: int, column: str) -> dict[str, object]:
    """Where a landed row's figure comes from: the file (and its sha256), the sheet, the Excel row
    (`row` is 0-based) and the column's letter; every raw table keeps these five."""
    return {
        "source_file": sheet.path.name,
        "source_sha256": sha256,
        "source_sheet": sheet.name,
        "source_row": row + 1,
        "source_column": column,
    }
