"""Write parsed tables as Parquet under `raw/<table>/release=<edition>/`, once per source version.

A partition's file is named after the source's sha256 and the parser version, so "is this file
already landed?" is a name check and an unchanged input is never parsed again. Every file's own
sha256 is written beside it when it lands (`.<name>.sha256`, which dbt's `*.parquet` glob does
not read) and checked before the file is relied on again: a damaged or truncated file is parsed
again from the archived workbook instead of failing every later build. An edition that lacks a
file gets an empty `missing.parquet` with the table's schema: dbt then reads "no rows for this
edition" instead of failing on an empty glob.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import uuid
from collections.abc import Iterable, Mapping
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from flows.ingest.archive import sha256_of
from flows.ingest.catalogue import Catalogue
from flows.parse import PARSER_VERSION
from flows.parse.tables import SCHEMAS, TABLES_BY_KIND, empty

MISSING_FILE = "missing.parquet"


def partition_dir(raw_dir: Path, table: str, edition: str) -> Path:
    return raw_dir / table / f"release={edition}"


def landed_name(sha256: str) -> str:
    return f"{sha256[:16]}-p{PARSER_VERSION}.parquet"


def checksum_path(path: Path) -> Path:
    return path.with_name(f".{path.name}.sha256")


def damage(path: Path) -> str | None:
    """Why a landed file cannot be relied on (None: it is as it was written)."""
    recorded = checksum_path(path)
    if not recorded.is_file():
        return "no checksum was recorded when it was written"
    try:
        expected = recorded.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        return "its recorded checksum cannot be read"
    if sha256_of(path) != expected:
        return "its bytes no longer match the checksum recorded when it was written"
    return None


def landed_state(raw_dir: Path, kind: str, edition: str, sha256: str) -> tuple[bool, list[str]]:
    """Whether the source version's tables are landed and intact; and what is damaged, if any."""
    damaged = []
    for table in TABLES_BY_KIND[kind]:
        path = partition_dir(raw_dir, table, edition) / landed_name(sha256)
        if not path.is_file():
            return False, []
        if (why := damage(path)) is not None:
            damaged.append(f"{path.relative_to(raw_dir)}: {why}")
    return not damaged, damaged


def land(
    raw_dir: Path, edition: str, tables: Mapping[str, pa.Table | Iterable[pa.RecordBatch]], sha256: str | None
) -> dict[str, int]:
    """Write each table's partition for the edition, replacing what was there; returns row counts.

    Batches are written as they come (one row group each), so a streamed table never sits whole in
    memory. If the parser raises half-way, the half-written file is removed and the partition keeps
    what it had."""
    counts = {}
    name = landed_name(sha256) if sha256 else MISSING_FILE
    for table, data in tables.items():
        target_dir = partition_dir(raw_dir, table, edition)
        target_dir.mkdir(parents=True, exist_ok=True)
        # not "*.parquet" until renamed: dbt's glob must never read a half-written file
        tmp = target_dir / f".tmp-{uuid.uuid4().hex}.partial"
        try:
            counts[table] = _write(table, data, tmp)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        final = target_dir / name
        checksum = target_dir / f".tmp-{uuid.uuid4().hex}.sha256"
        checksum.write_text(sha256_of(tmp) + "\n", encoding="ascii")
        os.replace(checksum, checksum_path(final))
        os.replace(tmp, final)
        for other in target_dir.iterdir():
            if other.name not in (name, checksum_path(final).name):
                other.unlink()
    return counts


def _write(table: str, data: pa.Table | Iterable[pa.RecordBatch], path: Path) -> int:
    schema = SCHEMAS[table]
    batches = data.to_batches() if isinstance(data, pa.Table) else data
    rows = 0
    with pq.ParquetWriter(path, schema, compression="zstd") as writer:
        for batch in batches:
            if batch.schema != schema:
                raise ValueError(f"{table}: parser output does not match the canonical schema")
            writer.write_batch(batch)
            rows += batch.num_rows
    return rows


def remove_partial_files(raw_dir: Path) -> list[Path]:
    """Delete files a killed run left half-written (they never match dbt's glob, but take space)."""
    leftovers = list(raw_dir.glob("*/release=*/.tmp-*")) if raw_dir.is_dir() else []
    for leftover in leftovers:
        leftover.unlink(missing_ok=True)
    return leftovers


def land_missing(raw_dir: Path, kind: str, edition: str) -> dict[str, int]:
    """An empty partition for a file the edition lacks (left alone when it is already that)."""
    tables = TABLES_BY_KIND[kind]
    if all(_is_empty_partition(raw_dir, table, edition) for table in tables):
        return dict.fromkeys(tables, 0)
    return land(raw_dir, edition, {table: empty(table) for table in tables}, None)


def _is_empty_partition(raw_dir: Path, table: str, edition: str) -> bool:
    part = partition_dir(raw_dir, table, edition)
    missing = part / MISSING_FILE
    return (
        part.is_dir()
        and sorted(p.name for p in part.iterdir()) == sorted([MISSING_FILE, checksum_path(missing).name])
        and damage(missing) is None
        and pq.read_schema(missing) == SCHEMAS[table]
    )


def landed_rows(raw_dir: Path, kind: str, edition: str, sha256: str) -> dict[str, int]:
    return {
        table: pq.ParquetFile(partition_dir(raw_dir, table, edition) / landed_name(sha256)).metadata.num_rows
        for table in TABLES_BY_KIND[kind]
    }


def landed_sexes(raw_dir: Path, table: str, edition: str, sha256: str) -> set[str]:
    """The sexes a landed partition holds (one column read)."""
    path = partition_dir(raw_dir, table, edition) / landed_name(sha256)
    return {str(s) for s in pq.read_table(path, columns=["sex"]).column("sex").unique().to_pylist()}


def prune(raw_dir: Path, editions: set[str]) -> list[Path]:
    """Remove partitions of editions no longer in the catalogue, so dbt does not read them."""
    removed = []
    for table in SCHEMAS:
        base = raw_dir / table
        if not base.is_dir():
            continue
        for part in base.iterdir():
            if part.is_dir() and part.name.startswith("release=") and part.name[8:] not in editions:
                shutil.rmtree(part)
                removed.append(part)
    return removed


def land_catalogue(raw_dir: Path, cat: Catalogue) -> dict[str, int]:
    """The catalogue's own facts about each edition (title, citation, licence, reference years) as
    the `releases` table, so the marts and the app can cite what they show; and an empty partition
    for every table no catalogued file feeds (a catalogue without the M49 list, say), so dbt reads
    "no rows" instead of failing on an empty glob."""
    for edition in cat.editions:
        row = {
            "release": [edition.edition],
            "title": [edition.title],
            "citation": [edition.citation or None],
            "licence": [edition.licence or None],
            "reference_years": [edition.years],
        }
        digest = hashlib.sha256(json.dumps(row, sort_keys=True).encode()).hexdigest()
        landed = partition_dir(raw_dir, "releases", edition.edition) / landed_name(digest)
        if not landed.is_file() or damage(landed) is not None:
            land(raw_dir, edition.edition, {"releases": pa.Table.from_pydict(row, schema=SCHEMAS["releases"])}, digest)
    fed = {table for e in cat.editions for f in e.ingested for table in TABLES_BY_KIND.get(f.kind.value, ())}
    for table in SCHEMAS:
        if (
            table != "releases"
            and table not in fed
            and not any(damage(p) is None for p in (raw_dir / table).glob("*/*.parquet"))
        ):
            land(raw_dir, cat.editions[0].edition, {table: empty(table)}, None)
    return {"releases": len(cat.editions)}
