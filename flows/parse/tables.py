"""The canonical raw tables: one schema each, shared by the parsers, the landing step and dbt.

Every row keeps the file's sha256 and the sheet, Excel row and column of the cell it came from, so
a published number can be traced to one cell of one file.
"""

from __future__ import annotations

import pyarrow as pa

_SOURCE = [
    ("source_file", pa.string()),
    ("source_sha256", pa.string()),
    ("source_sheet", pa.string()),
    ("source_row", pa.int32()),
    ("source_column", pa.string()),
]

_STOCK = [
    ("release", pa.string()),
    ("year", pa.int16()),
    ("sex", pa.string()),
]

SCHEMAS: dict[str, pa.Schema] = {
    "od_stock": pa.schema(
        _STOCK
        + [
            ("destination_code", pa.int32()),
            ("destination_name", pa.string()),
            ("origin_code", pa.int32()),
            ("origin_name", pa.string()),
            ("migrants", pa.int64()),
            ("value_flag", pa.string()),
        ]
        + _SOURCE
    ),
    "destination_totals": pa.schema(
        _STOCK
        + [
            ("location_code", pa.int32()),
            ("location_name", pa.string()),
            ("notes", pa.string()),
            ("data_type", pa.string()),
            ("migrants", pa.int64()),
            ("value_flag", pa.string()),
        ]
        + _SOURCE
    ),
    "origin_totals": pa.schema(
        _STOCK
        + [
            ("location_code", pa.int32()),
            ("location_name", pa.string()),
            ("notes", pa.string()),
            ("migrants", pa.int64()),
            ("value_flag", pa.string()),
        ]
        + _SOURCE
    ),
    "population": pa.schema(
        _STOCK
        + [
            ("location_code", pa.int32()),
            ("location_name", pa.string()),
            ("population", pa.int64()),
            ("value_flag", pa.string()),
        ]
        + _SOURCE
    ),
    "locations": pa.schema(
        [
            ("release", pa.string()),
            ("location_code", pa.int32()),
            ("location_name", pa.string()),
            ("iso3", pa.string()),
            ("location_type", pa.string()),
            ("parent_code", pa.int32()),
            ("subregion_code", pa.int32()),
            ("subregion_name", pa.string()),
            ("sdg_subregion_code", pa.int32()),
            ("sdg_subregion_name", pa.string()),
            ("sdg_region_code", pa.int32()),
            ("sdg_region_name", pa.string()),
            ("geographic_region_code", pa.int32()),
            ("geographic_region_name", pa.string()),
            ("development_group", pa.string()),
            ("income_group_code", pa.int32()),
            ("income_group_name", pa.string()),
            ("is_least_developed", pa.bool_()),
            ("is_landlocked_developing", pa.bool_()),
            ("is_small_island_developing", pa.bool_()),
        ]
        + _SOURCE
    ),
    "m49": pa.schema(
        [
            ("release", pa.string()),
            ("location_code", pa.int32()),
            ("location_name", pa.string()),
            ("iso2", pa.string()),
            ("iso3", pa.string()),
            ("region_name", pa.string()),
            ("subregion_name", pa.string()),
            ("intermediate_region_name", pa.string()),
            ("is_least_developed", pa.bool_()),
            ("is_landlocked_developing", pa.bool_()),
            ("is_small_island_developing", pa.bool_()),
        ]
        + _SOURCE
    ),
    # the catalogue's own facts about each edition, landed by the refresh (not parsed from a file)
    "releases": pa.schema(
        [
            ("release", pa.string()),
            ("title", pa.string()),
            ("citation", pa.string()),
            ("licence", pa.string()),
            ("reference_years", pa.list_(pa.int16())),
        ]
    ),
}

# Which raw tables each kind of file feeds.
TABLES_BY_KIND: dict[str, tuple[str, ...]] = {
    "origin_destination": ("od_stock",),
    "destination": ("destination_totals", "population"),
    "origin": ("origin_totals",),
    "classification": ("locations",),
    "m49": ("m49",),
}


class Columns:
    """Column-wise accumulator for one raw table (cheaper than a dict per row)."""

    def __init__(self, table: str) -> None:
        self.table = table
        self.schema = SCHEMAS[table]
        self.data: dict[str, list[object]] = {name: [] for name in self.schema.names}

        self._columns = list(self.data.values())

    def append(self, **values: object) -> None:
        for name, column in self.data.items():
            column.append(values.get(name))

    def add(self, *values: object) -> None:
        """One row, its values in the schema's column order: the append of the loops that land a
        row per cell (millions in a large edition), without a dict per row."""
        for column, value in zip(self._columns, values, strict=True):
            column.append(value)

    def __len__(self) -> int:
        return len(self.data["release"])

    def to_arrow(self) -> pa.Table:
        return pa.Table.from_pydict(self.data, schema=self.schema)

    def take_batch(self) -> pa.RecordBatch:
        """The rows so far as one Arrow batch, emptying the accumulator for the next."""
        batch = pa.RecordBatch.from_pydict(self.data, schema=self.schema)  # copies into Arrow memory
        for column in self.data.values():
            column.clear()  # in place: callers hold on to these lists
        return batch


def empty(table: str) -> pa.Table:
    return SCHEMAS[table].empty_table()
