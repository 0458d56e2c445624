"""Opening a release workbook safely and reading its sheets, whole or streamed.

A workbook is checked before calamine inflates it (a zip that is not one, a zip bomb) and each sheet
before calamine loads it (its size, and cells calamine would misread: flows.parse.sheet_xml). Sheets
are located by name, whatever their case or spacing; every problem is reported with the file, sheet,
Excel row and column. What cells mean is flows.parse.cells; where a table's header is,
flows.parse.header.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path

from python_calamine import CalamineWorkbook

from flows.errors import ParseError
from flows.ingest.catalogue import DEFAULT_PLACEHOLDERS
from flows.parse import sheet_xml
from flows.parse.cells import Cell, column_letter
from flows.parse.header import HEADER_SCAN_ROWS

# Zip-bomb guard. Genuine workbooks inflate 3-13x (the releases here) and a real release is a few
# tens of MB; a bomb inflates hundreds of times. A workbook over the size cap is refused when it
# also inflates past the ratio cap (so a synthetic 100x edition of honest cells still reads), and
# any workbook past the hard cap is refused outright.
MAX_UNCOMPRESSED_BYTES = 512 * 1024 * 1024
MAX_INFLATION_RATIO = 100
HARD_MAX_UNCOMPRESSED_BYTES = 8 * 1024**3


class Sheet:
    """One worksheet's cells, indexed so that row i is Excel row i + 1 and column j is letter j."""

    def __init__(
        self,
        path: Path,
        name: str,
        rows: list[list[Cell]],
        placeholders: Sequence[str] = DEFAULT_PLACEHOLDERS,
        unreadable: Mapping[tuple[int, int], sheet_xml.Unreadable] | None = None,
    ) -> None:
        self.path = path
        self.name = name
        self.rows = rows
        # the file's placeholders for "not available"; an empty cell is a value the table does not give
        self.placeholders = frozenset([*placeholders, ""])
        # cells calamine hands over as empty but that hold an error value or an uncalculated formula,
        # by 0-based (row, column), as the scan of the sheet's XML found them
        self.unreadable = {(r - 1, c - 1): u for (r, c), u in (unreadable or {}).items()}

    def require_readable(self, columns: Iterable[int | None], start: int) -> None:
        """Refuse the sheet if a column the parser reads holds an unreadable cell from row `start`
        down (calamine would hand it over as 'no data')."""
        wanted = {c for c in columns if c is not None}
        found = sorted((k, u) for k, u in self.unreadable.items() if k[1] in wanted and k[0] >= start)
        if found:
            (row, col), _ = found[0]
            raise self.error(sheet_xml.unreadable_problem([u for _, u in found]), row=row, col=col)

    def error(self, problem: str, row: int | None = None, col: int | None = None, label: str = "") -> ParseError:
        column = None
        if col is not None:
            column = column_letter(col) + (f" ({label})" if label else "")
        return ParseError(self.path, problem, sheet=self.name, row=None if row is None else row + 1, column=column)

    def cell(self, row: int, col: int) -> Cell:
        values = self.rows[row]
        return values[col] if col < len(values) else ""

    def title(self, header_row: int) -> str:
        return " ".join(str(v) for r in range(header_row) for v in self.rows[r] if isinstance(v, str) and v.strip())

    def rows_from(self, start: int) -> Iterator[tuple[int, list[Cell]]]:
        """(index, cells) of every row from `start` to the end of the sheet."""
        for r in range(start, len(self.rows)):
            yield r, self.rows[r]


class StreamedSheet(Sheet):
    """A sheet read row by row, for the origin-destination table (millions of cells in a large
    edition): only the top rows, where the header is found, stay in memory, so the parse needs the
    same memory at 100 times the rows. Rows below the top can be read once, in order; `cell` answers
    for the top rows and for the row being read."""

    def __init__(
        self,
        path: Path,
        name: str,
        head: list[list[Cell]],
        rest: Iterator[list[Cell]],
        placeholders: Sequence[str] = DEFAULT_PLACEHOLDERS,
        unreadable: Mapping[tuple[int, int], sheet_xml.Unreadable] | None = None,
    ) -> None:
        super().__init__(path, name, head, placeholders, unreadable)
        self._rest = rest
        self._current: tuple[int, list[Cell]] = (-1, [])

    def cell(self, row: int, col: int) -> Cell:
        if row < len(self.rows):
            return super().cell(row, col)
        current_row, values = self._current
        if row != current_row:
            raise IndexError(f"row {row + 1} of a streamed sheet is no longer (or not yet) in memory")
        return values[col] if col < len(values) else ""

    def rows_from(self, start: int) -> Iterator[tuple[int, list[Cell]]]:
        yield from super().rows_from(start)
        for r, row in enumerate(self._rest, start=len(self.rows)):
            if r >= start:
                self._current = (r, row)
                yield r, row


class Workbook:
    """An open xlsx file; checks it is a sane zip before handing it to calamine. `placeholders` are
    the file's own (its catalogue entry's) symbols for a figure not available."""

    def __init__(self, path: Path, placeholders: Sequence[str] = DEFAULT_PLACEHOLDERS) -> None:
        self.path = path
        self.placeholders = tuple(placeholders)
        _check_container(path)
        try:
            self._book = CalamineWorkbook.from_path(str(path))
        except Exception as exc:  # calamine raises its own error types for every kind of damage
            raise ParseError(path, f"cannot be read as an xlsx workbook ({type(exc).__name__}: {exc})") from exc

    @property
    def sheet_names(self) -> list[str]:
        return list(self._book.sheet_names)

    def _match(self, name: str) -> str:
        wanted = name.strip().casefold()
        match = next((s for s in self.sheet_names if s.strip().casefold() == wanted), None)
        if match is None:
            raise ParseError(self.path, f"no sheet '{name}' (the workbook has: {', '.join(self.sheet_names)})")
        return match

    def _check_sheet(self, name: str) -> sheet_xml.SheetExtent:
        """Scan the sheet's XML before calamine loads it: its size, and cells calamine would misread."""
        try:
            with zipfile.ZipFile(self.path) as zf:
                return sheet_xml.check(zf, name)
        except sheet_xml.SheetProblem as exc:
            row, column = _split_ref(exc.cell)
            raise ParseError(self.path, exc.problem, sheet=name, row=row, column=column) from None
        except (OSError, zipfile.BadZipFile, EOFError, ValueError) as exc:  # a damaged member
            raise ParseError(self.path, f"cannot read the sheet ({type(exc).__name__}: {exc})", sheet=name) from exc

    def sheet(self, name: str) -> Sheet:
        match = self._match(name)
        extent = self._check_sheet(match)
        try:
            rows = self._book.get_sheet_by_name(match).to_python(skip_empty_area=False)
        except Exception as exc:
            raise ParseError(self.path, f"cannot read the sheet ({type(exc).__name__}: {exc})", sheet=match) from exc
        return Sheet(self.path, match, rows, self.placeholders, extent.unreadable)

    def stream(self, name: str) -> StreamedSheet:
        """The sheet as a StreamedSheet: its top rows read now, the rest as they are consumed."""
        match = self._match(name)
        extent = self._check_sheet(match)
        try:
            calamine_sheet = self._book.get_sheet_by_name(match)
            # iter_rows pads empty rows above the used range, but not empty columns left of it
            pad: list[Cell] = [""] * calamine_sheet.start[1] if calamine_sheet.start else []
            rows: Iterator[list[Cell]] = ([*pad, *row] for row in calamine_sheet.iter_rows())
            head = [row for _, row in zip(range(HEADER_SCAN_ROWS + 1), rows, strict=False)]
        except Exception as exc:
            raise ParseError(self.path, f"cannot read the sheet ({type(exc).__name__}: {exc})", sheet=match) from exc
        return StreamedSheet(
            self.path, match, head, _reporting(rows, self.path, match), self.placeholders, extent.unreadable
        )


def _split_ref(cell: str | None) -> tuple[int | None, str | None]:
    """'AB12' -> (12, 'AB'), the row and column a ParseError names."""
    found = re.fullmatch(r"([A-Z]+)(\d+)", cell or "")
    return (int(found.group(2)), found.group(1)) if found else (None, None)


def _reporting(rows: Iterator[list[Cell]], path: Path, sheet: str) -> Iterator[list[Cell]]:
    """Rows of a streamed sheet, with calamine's own errors (a damaged part) named like a parse error."""
    try:
        yield from rows
    except Exception as exc:
        raise ParseError(path, f"cannot read the sheet ({type(exc).__name__}: {exc})", sheet=sheet) from exc


def _check_container(path: Path) -> None:
    """Refuse files that are not zips, are truncated, or would inflate past a sane size."""
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
    except zipfile.BadZipFile as exc:
        with open(path, "rb") as fh:
            head = fh.read(64).decode("latin-1", errors="replace").strip()
        kind = "an HTML page" if head.lower().startswith(("<!doc", "<html")) else "truncated or not an xlsx file"
        raise ParseError(path, f"not a readable xlsx workbook: {kind} ({exc})") from exc
    total = sum(i.file_size for i in infos)
    ratio = total / max(1, sum(i.compress_size for i in infos))
    if (total > MAX_UNCOMPRESSED_BYTES and ratio > MAX_INFLATION_RATIO) or total > HARD_MAX_UNCOMPRESSED_BYTES:
        raise ParseError(
            path,
            f"declares {total:,} bytes uncompressed ({ratio:,.0f} times its compressed size), over the "
            f"{MAX_UNCOMPRESSED_BYTES:,}-byte and {MAX_INFLATION_RATIO}x limits; refused before inflating "
            "(possible zip bomb)",
        )
