"""Finding a table's header by what it says, not where it sits.

The release files move things between editions: the header row, the metadata columns (`Notes` vs
`Coverage`, `Type of data` vs `Data type`), blank header cells, the order of the code column. So
the header row is found by its labels, each column by its label, and the year columns by their
position inside each sex block, with the labels checked against the edition's reference years.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from flows.parse.cells import Cell, as_year, column_letter, normalise_label

if TYPE_CHECKING:
    from flows.parse.workbook import Sheet

SEXES = ("total", "male", "female")
SEX_LABELS = {"total": "both sexes", "male": "males", "female": "females"}
HEADER_SCAN_ROWS = 40
BLOCK_TITLE_ROWS = 4  # how far above the year row a row of block titles may sit


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


def block_label(block: YearBlock, year: int) -> str:
    return f"{year}, {SEX_LABELS[block.sex]}"
