"""One parser per kind of release file, each returning canonical raw tables (see flows.tables)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pyarrow as pa

from flows.catalogue import Edition, FileKind

# Bump when a parser's output changes, so landed tables are rebuilt from the archived files.
PARSER_VERSION = "2"

Parser = Callable[[Path, str, Edition], dict[str, pa.Table]]


def parser_for(kind: FileKind) -> Parser:
    from flows.parsers.classification import parse_classification
    from flows.parsers.origin_destination import parse_origin_destination
    from flows.parsers.totals import parse_destination, parse_origin

    parsers: dict[FileKind, Parser] = {
        FileKind.ORIGIN_DESTINATION: parse_origin_destination,
        FileKind.DESTINATION: parse_destination,
        FileKind.ORIGIN: parse_origin,
        FileKind.CLASSIFICATION: parse_classification,
    }
    return parsers[kind]
