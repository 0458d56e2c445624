"""Parse: reading workbooks (one module per layout) into canonical raw tables, and landing them
as Parquet (step `parse`). One parser per kind of release file (see flows.parse.tables)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pyarrow as pa

from flows.ingest.catalogue import DEFAULT_PLACEHOLDERS, Edition, FileKind

# Bump when a parser's output changes, so landed tables are rebuilt from the archived files.
PARSER_VERSION = "3"

Parser = Callable[[Path, str, Edition], dict[str, pa.Table]]
# What the refresh lands: each table as Arrow batches, read lazily where a table can be large.
Batches = dict[str, Iterator[pa.RecordBatch]]
StreamingParser = Callable[[Path, str, Edition], Batches]


def placeholders(edition: Edition, kind: FileKind) -> list[str]:
    """The placeholders the edition's file of this kind may hold (its catalogue entry's)."""
    spec = edition.file(kind)
    return spec.placeholders if spec is not None else list(DEFAULT_PLACEHOLDERS)


def parser_for(kind: FileKind) -> Parser:
    from flows.parse.classification import parse_classification
    from flows.parse.m49 import parse_m49
    from flows.parse.origin_destination import parse_origin_destination
    from flows.parse.totals import parse_destination, parse_origin

    parsers: dict[FileKind, Parser] = {
        FileKind.ORIGIN_DESTINATION: parse_origin_destination,
        FileKind.DESTINATION: parse_destination,
        FileKind.ORIGIN: parse_origin,
        FileKind.CLASSIFICATION: parse_classification,
        FileKind.M49: parse_m49,
    }
    return parsers[kind]


def streaming_parser_for(kind: FileKind) -> StreamingParser:
    """The parser the refresh uses: the origin-destination table (the one that grows with an
    edition, into tens of millions of cells) streams; the small tables are read whole."""
    if kind == FileKind.ORIGIN_DESTINATION:
        from flows.parse.origin_destination import stream_origin_destination

        return stream_origin_destination
    whole = parser_for(kind)

    def as_batches(path: Path, sha256: str, edition: Edition) -> Batches:
        return {name: iter(table.to_batches()) for name, table in whole(path, sha256, edition).items()}

    return as_batches
