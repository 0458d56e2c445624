"""Reading UN DESA workbooks by content, not by fixed positions.

The release files move things between editions: the header row, the metadata columns (`Notes` vs
`Coverage`, `Type of data` vs `Data type`), blank header cells, the order of the code column. So a
sheet is located by name, its header row by what it says, each column by its label, and the year
columns by their position inside each sex block, with the labels checked against the edition's
reference years. Every problem is reported with the file, sheet, Excel row and column.
"""

from __future__ import annotations

import math
import re
import zipfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from python_calamine import CalamineWorkbook

from flows.errors import ParseError, quoted
from flows.ingest.catalogue import DEFAULT_PLACEHOLDERS
from flows.parse import sheet_xml

Cell = Any

SEXES = ("total", "male", "female")
SEX_LABELS = {"total": "both sexes", "male": "males", "female": "females"}
HEADER_SCAN_ROWS = 40
BLOCK_TITLE_ROWS = 4  # how far above the year row a row of block titles may sit
# Zip-bomb guard. Genuine workbooks inflate 3-13x (the releases here) and a real release is a few
# tens of MB; a bomb inflates hundreds of times. A workbook over the size cap is refused when it
# also inflates past the ratio cap (so a synthetic 100x edition of honest cells still reads), and
# any workbook past the hard cap is refused outright.
MAX_UNCOMPRESSED_BYTES = 512 * 1024 * 1024
MAX_INFLATION_RATIO = 100
HARD_MAX_UNCOMPRESSED_BYTES = 8 * 1024**3
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


@dataclass(frozen=True)
class YearBlock:
    sex: str
    columns: tuple[int, ...]
    years: tuple[int, ...]


@dataclass(frozen=True)
class Header:
    row: int  # 0-based index of the label row
    labels: tuple[str, ...]  # normalised label per column
    blocks: tuple[YearBlock, ...]
    data_start: int  # 0-based index of the first data row


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


def find_header(
    sheet: Sheet,
    required: dict[str, Callable[[str], bool]],
    expected_years: Sequence[int],
    *,
    blocks: int = 3,
) -> tuple[Header, dict[str, int]]:
    """Locate the header row by its labels and map each required role to its column.

    The header is the first row (within the top rows) where every required role finds a column;
    the years may sit on that row or on the next one (the 2019 two-row header).
    """
    labelled_without_years: int | None = None
    for r in range(min(HEADER_SCAN_ROWS, len(sheet.rows))):
        labels = tuple(normalise_label(v) for v in sheet.rows[r])
        roles = _match_roles(labels, required)
        if roles is None:
            continue
        year_row = r
        year_cols = _year_columns(sheet.rows[r])
        if not year_cols and r + 1 < len(sheet.rows):
            year_row = r + 1
            year_cols = _year_columns(sheet.rows[r + 1])
        if not year_cols:
            labelled_without_years = r
            continue
        year_blocks = _split_blocks(sheet, year_row, year_cols, expected_years, blocks)
        sheet.require_readable([*roles.values(), *(c for b in year_blocks for c in b.columns)], year_row + 1)
        return Header(r, labels, year_blocks, year_row + 1), roles
    if labelled_without_years is not None:
        raise sheet.error("found the header labels but no year columns beside them", row=labelled_without_years)
    wanted = ", ".join(required)
    raise sheet.error(f"no header row found in the first {HEADER_SCAN_ROWS} rows (looked for columns: {wanted})")


def _match_roles(labels: Sequence[str], required: dict[str, Callable[[str], bool]]) -> dict[str, int] | None:
    roles: dict[str, int] = {}
    for role, matches in required.items():
        col = next((i for i, label in enumerate(labels) if label and matches(label) and i not in roles.values()), None)
        if col is None:
            return None
        roles[role] = col
    return roles


def optional_column(labels: Sequence[str], matches: Callable[[str], bool]) -> int | None:
    return next((i for i, label in enumerate(labels) if label and matches(label)), None)


def _year_columns(row: Sequence[Cell]) -> list[tuple[int, int]]:
    return [(c, y) for c, v in enumerate(row) if (y := as_year(v)) is not None]


def _split_blocks(
    sheet: Sheet, year_row: int, year_cols: list[tuple[int, int]], expected: Sequence[int], n_blocks: int
) -> tuple[YearBlock, ...]:
    runs: list[list[tuple[int, int]]] = []
    for col, year in year_cols:
        if not runs or year <= runs[-1][-1][1] or col != runs[-1][-1][0] + 1:
            runs.append([])
        runs[-1].append((col, year))
    if len(runs) != n_blocks:
        raise sheet.error(
            f"expected {n_blocks} blocks of year columns (both sexes, males, females), found {len(runs)}: "
            + "; ".join(f"{column_letter(r[0][0])}-{column_letter(r[-1][0])} {[y for _, y in r]}" for r in runs),
            row=year_row,
        )
    sexes = _block_sexes(sheet, year_row, runs) if n_blocks == 3 else ("total",)
    result = []
    for sex, run in zip(sexes, runs, strict=True):
        years = tuple(y for _, y in run)
        if list(years) != list(expected):
            missing = [y for y in expected if y not in years]
            extra = [y for y in years if y not in expected]
            detail = []
            if missing:
                detail.append(f"missing {missing}")
            if extra:
                detail.append(f"unexpected {extra}")
            if not detail:
                detail.append("out of order")
            raise sheet.error(
                f"the {SEX_LABELS[sex]} block's year columns are {list(years)}; the edition's reference years are "
                f"{list(expected)} ({', '.join(detail)})",
                row=year_row,
                col=run[0][0],
            )
        result.append(YearBlock(sex, tuple(c for c, _ in run), years))
    return tuple(result)


def _block_sexes(sheet: Sheet, year_row: int, runs: list[list[tuple[int, int]]]) -> tuple[str, ...]:
    """Which block is which sex, from a row of block titles just above the header.

    A block-title row has text over every block (a sheet title sits over the first block only,
    so it is never mistaken for one). Without such a row the published order applies: both
    sexes, males, females.
    """
    for r in range(year_row - 1, max(-1, year_row - 1 - BLOCK_TITLE_ROWS), -1):
        titles = [_row_text(sheet, r, run[0][0], run[-1][0]) for run in runs]
        if not all(titles):
            continue
        found = [sex_of(t) for t in titles]
        if sorted(f or "" for f in found) != sorted(SEXES):
            raise sheet.error(
                f"the block titles {titles} do not name both sexes, males and females once each",
                row=r,
                col=runs[0][0][0],
            )
        return tuple(f for f in found if f is not None)
    return SEXES


def _row_text(sheet: Sheet, row: int, first: int, last: int) -> str:
    return " ".join(
        str(v).strip() for c in range(first, last + 1) if isinstance(v := sheet.cell(row, c), str) and v.strip()
    )


def sex_of(title: str) -> str | None:
    """Which sex a block or table title names: `(both sexes)`, `Total migrant stock` (Rev.2015's
    matrices), `(male)`, `Female migrant stock`, ..."""
    text = title.lower()
    if "female" in text:
        return "female"
    if re.search(r"\bmales?\b", text):
        return "male"
    if "both sexes" in text or re.search(r"\btotal migrant stock\b", text):
        return "total"
    return None


def data_rows(sheet: Sheet, header: Header) -> Iterator[tuple[int, list[Cell]]]:
    """Rows below the header that hold anything."""
    for r, row in sheet.rows_from(header.data_start):
        if any(v != "" and v is not None for v in row):
            yield r, row


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


def block_label(block: YearBlock, year: int) -> str:
    return f"{year}, {SEX_LABELS[block.sex]}"
