"""What python-calamine does not say about a sheet, read from the sheet's XML before it loads it.

calamine hands over an error value (`#N/A`, `#REF!`) and a formula saved without its calculated
value as an empty cell, which a parser would take for "no migrants listed": a workbook whose
figures were all uncalculated formulas once published a whole edition of nulls with every check
green. And calamine loads a sheet as one dense grid from its first to its last value, so a single
value in the last row and column asks for hundreds of gigabytes before any parser code runs. So
each sheet a parser reads is scanned first, as a stream of rows (a few MB at a time, whatever the
sheet's size): where its last value lies, and which cells cannot be read. A cell that cannot be
read matters only in a column a parser reads (a re-saved workbook may lose the values of a row
index's formulas, which no parser looks at): the sheet keeps them all and the parser asks, once it
knows its columns (`Sheet.require_readable`).
"""

from __future__ import annotations

import posixpath
import re
import zipfile
from dataclasses import dataclass, field
from xml.etree import ElementTree

# The widest layout (the 2015-2019 matrices: a column per origin) has about 250 columns; Excel's
# own limits are 16,384 columns and 1,048,576 rows.
MAX_COLUMNS = 1_024
EXCEL_MAX_ROWS = 1_048_576
# calamine holds every cell of the grid (about 32 bytes each, empty ones included): 100 million
# cells is 3 GB. A 100-times edition of the 2020 table is 45 million.
MAX_CELLS = 100_000_000
CHUNK_BYTES = 8 * 1024 * 1024
SHOWN_CELLS = 5  # unreadable cells named in a message
MAX_UNREADABLE = 1_000_000  # kept by position (about 200 bytes each); past it the sheet is refused
EXCERPT_CHARS = 60

_NS = {
    "main": "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
    "rel": "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
    "pkg": "http://schemas.openxmlformats.org/package/2006/relationships",
}
_SHEET_DATA = re.compile(rb"<(\w+:)?sheetData\b")
_CELL = re.compile(rb"<(?:\w+:)?c\b([^>]*?)(?:/>|>(.*?)</(?:\w+:)?c>)", re.S)
_R_ATTR = re.compile(rb'\br="([A-Z]*)(\d*)"')
_T_ATTR = re.compile(rb'\bt="(\w+)"')
_VALUE = re.compile(rb"<(?:\w+:)?v\s*>(.*?)</(?:\w+:)?v>|<(?:\w+:)?v\s*/>", re.S)
_HAS_VALUE = re.compile(rb"<(?:\w+:)?(?:v|is)\b")
_FORMULA = re.compile(rb"<(?:\w+:)?f\b([^>]*?)(?:/>|>(.*?)</(?:\w+:)?f>)", re.S)
_DIMENSION = re.compile(rb'<(?:\w+:)?dimension\b[^>]*\bref="([^"]*)"')


class SheetProblem(Exception):
    """A sheet calamine must not load, or whose cells it would misread; `cell` is its reference."""

    def __init__(self, problem: str, cell: str | None = None) -> None:
        super().__init__(problem)
        self.problem = problem
        self.cell = cell


@dataclass(frozen=True)
class Unreadable:
    cell: str  # A1 reference
    what: str  # "the error value #N/A", "a formula (=SUM(B2:B9)) saved without its value"


@dataclass
class SheetExtent:
    """A sheet's grid as calamine would load it: from A1 to its last row and column with a value."""

    declared: str | None = None  # the <dimension> the file states (not trusted, only quoted)
    rows: int = 0
    columns: int = 0
    unreadable: dict[tuple[int, int], Unreadable] = field(default_factory=dict)  # (row, column), 1-based

    @property
    def cells(self) -> int:
        return self.rows * self.columns


def column_index(letters: str) -> int:
    """Excel column letters to a 1-based index (A -> 1, XFD -> 16,384)."""
    index = 0
    for ch in letters:
        index = index * 26 + ord(ch) - 64
    return index


def column_letters(index: int) -> str:
    """A 1-based column index to Excel letters."""
    letters = ""
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def sheet_parts(zf: zipfile.ZipFile) -> dict[str, str]:
    """Sheet name -> the zip member holding its XML, from the workbook's own part list."""
    try:
        book = ElementTree.fromstring(zf.read("xl/workbook.xml"))
        rels = ElementTree.fromstring(zf.read("xl/_rels/workbook.xml.rels"))
    except (KeyError, ElementTree.ParseError) as exc:
        raise SheetProblem(f"the workbook's list of sheets cannot be read ({exc})") from exc
    targets = {r.get("Id"): r.get("Target", "") for r in rels.iterfind("pkg:Relationship", _NS)}
    parts = {}
    for sheet in book.iterfind("main:sheets/main:sheet", _NS):
        target = targets.get(sheet.get(f"{{{_NS['rel']}}}id"), "")
        member = target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join("xl", target))
        parts[sheet.get("name", "")] = member
    return parts


def scan(zf: zipfile.ZipFile, member: str) -> SheetExtent:
    """The sheet's extent and unreadable cells, reading its XML a chunk at a time."""
    extent = SheetExtent()
    last_row = 0
    pending = b""
    prefix: bytes | None = None  # the namespace prefix of the sheet's elements ("x:" in some writers)
    with zf.open(member) as stream:
        while chunk := stream.read(CHUNK_BYTES):
            pending += chunk
            if prefix is None:
                if (dim := _DIMENSION.search(pending)) is not None:
                    extent.declared = dim.group(1).decode("ascii", "replace")[:40]
                found = _SHEET_DATA.search(pending)
                if found is None:
                    continue
                prefix = found.group(1) or b""
            end = _last_row_end(pending, prefix)
            if end:
                last_row = _rows(pending[:end], prefix, extent, last_row)
                pending = pending[end:]
        _rows(pending, prefix or b"", extent, last_row)
    return extent


def _last_row_end(data: bytes, prefix: bytes) -> int:
    """Where the last complete row element in `data` ends (0: none yet)."""
    close = b"</" + prefix + b"row>"
    found = data.rfind(close)
    return found + len(close) if found >= 0 else 0


def _rows(data: bytes, prefix: bytes, extent: SheetExtent, last_row: int) -> int:
    """Each row element of `data` (complete rows only): bytes.find does the walking, at C speed."""
    opening, close = b"<" + prefix + b"row", b"</" + prefix + b"row>"
    pos = 0
    while (start := data.find(opening, pos)) >= 0:
        tag_end = data.find(b">", start)
        if tag_end < 0:
            break
        after = data[start + len(opening) : start + len(opening) + 1]
        if after not in (b" ", b">", b"/", b"\t", b"\n", b"\r"):  # <rowBreaks>, not a row
            pos = tag_end + 1
            continue
        last_row = _row_number(data[start:tag_end], last_row)
        if data[tag_end - 1 : tag_end] == b"/":  # <row .../>: formatting only, left out of the grid
            pos = tag_end + 1
            continue
        end = data.find(close, tag_end)
        if end < 0:
            break
        _cells(data[tag_end + 1 : end], last_row, extent)
        pos = end + len(close)
    return last_row


def _row_number(attrs: bytes, previous: int) -> int:
    found = re.search(rb'\br="(\d+)"', attrs)
    return int(found.group(1)) if found else previous + 1


def _cells(body: bytes, row: int, extent: SheetExtent) -> None:
    """The row's last column with a value, and its unreadable cells. Most rows hold neither an
    error nor a formula, and end in a value with a reference: they cost one search from the end."""
    careful = b'"e"' in body or b"f>" in body or b"<f " in body or b":f " in body
    start = body.rfind(b"<c ")
    if not careful and start >= 0 and body.rfind(b"<c") == start:
        last = body[start:]
        ref = _R_ATTR.search(last)
        if ref and ref.group(1) and _HAS_VALUE.search(last):
            _widen(extent, column_index(ref.group(1).decode()), row)
            return
    column = 0
    for cell in _CELL.finditer(body):
        attrs, inner = cell.group(1), cell.group(2) or b""
        ref = _R_ATTR.search(attrs)
        column = column_index(ref.group(1).decode()) if ref and ref.group(1) else column + 1
        formula = _FORMULA.search(inner)
        value = _VALUE.search(inner)
        content = value.group(1) if value is not None else None  # None: no <v>, or an empty <v/>
        kind = _T_ATTR.search(attrs)
        kind_name = kind.group(1) if kind else b"n"
        if kind_name == b"e":
            shown = _excerpt(content or b"")
            _unreadable(extent, row, column, f"the error value {shown or '(none given)'}")
        elif formula and not content and kind_name != b"str":  # a text formula may well give ""
            text = formula.group(2) or b""
            what = f"a formula (={_excerpt(text)})" if text else "a shared formula"
            _unreadable(extent, row, column, f"{what} saved without its value")
        if content or (kind_name == b"str" and value is not None) or b"is>" in inner:
            _widen(extent, column, row)


def _widen(extent: SheetExtent, column: int, row: int) -> None:
    """A value at (column, row): the grid reaches at least there."""
    extent.columns = max(extent.columns, column)
    extent.rows = max(extent.rows, row)
    if row > EXCEL_MAX_ROWS:
        raise SheetProblem(f"has a value on row {row:,}, past Excel's {EXCEL_MAX_ROWS:,} rows", f"A{row}")
    if column > MAX_COLUMNS:
        raise SheetProblem(
            f"has a value in column {column_letters(column)} ({column:,}), past the {MAX_COLUMNS:,} columns "
            "any release layout uses",
            f"{column_letters(column)}{row}",
        )


def _unreadable(extent: SheetExtent, row: int, column: int, what: str) -> None:
    cell = f"{column_letters(column)}{row}"
    if len(extent.unreadable) >= MAX_UNREADABLE:
        raise SheetProblem(
            f"has more than {MAX_UNREADABLE:,} cells that cannot be read (error values or formulas saved without "
            f"their value; {cell} is one). {REMEDY}",
            cell,
        )
    extent.unreadable[(row, column)] = Unreadable(cell, what)


REMEDY = (
    "An error value or an uncalculated formula is neither a number nor 'no data': open the workbook in a "
    "spreadsheet program, let it calculate, save it, and run again"
)


def unreadable_problem(cells: list[Unreadable]) -> str:
    """What a parser says of the unreadable cells it would read (`cells` in sheet order)."""
    shown = "; ".join(f"{u.cell}: {u.what}" for u in cells[:SHOWN_CELLS])
    more = len(cells) - SHOWN_CELLS
    return (
        f"{len(cells):,} {'cell' if len(cells) == 1 else 'cells'} cannot be read ({shown}"
        + (f"; and {more:,} more" if more > 0 else "")
        + f"). {REMEDY}"
    )


def _excerpt(raw: bytes) -> str:
    text = raw.decode("utf-8", "replace")
    for entity, char in (("&lt;", "<"), ("&gt;", ">"), ("&quot;", '"'), ("&apos;", "'"), ("&amp;", "&")):
        text = text.replace(entity, char)
    return text if len(text) <= EXCERPT_CHARS else text[: EXCERPT_CHARS - 1] + "…"


def check(zf: zipfile.ZipFile, sheet: str) -> SheetExtent:
    """Refuse a sheet calamine cannot load within bounds; list the cells it would misread."""
    parts = sheet_parts(zf)
    member = parts.get(sheet)
    if member is None or member not in zf.NameToInfo:
        raise SheetProblem(f"the workbook lists the sheet, but its part {member or '(none)'} is not in the file")
    extent = scan(zf, member)
    if extent.cells > MAX_CELLS:
        declared = f"; the sheet declares {extent.declared}" if extent.declared else ""
        raise SheetProblem(
            f"spans {extent.rows:,} rows by {extent.columns:,} columns to its last value "
            f"({column_letters(extent.columns)}{extent.rows}{declared}): {extent.cells:,} cells, past the "
            f"{MAX_CELLS:,} a sheet may hold here; refused before loading it",
            f"{column_letters(extent.columns)}{extent.rows}",
        )
    return extent
