"""Column-label rules shared by the parsers: one place that knows every edition's spelling."""

from __future__ import annotations

NAME_PREFIXES = (
    "region, development group, country or area",
    "major area, region, country or area",
    "region, subregion, country or area",
)


def is_name(label: str) -> bool:
    return label.startswith(NAME_PREFIXES)


def is_code(label: str) -> bool:
    return label in {"code", "location code", "country code"}


def is_year(label: str) -> bool:
    return label == "year"


def is_notes(label: str) -> bool:
    return label in {"notes", "coverage", "migrant notes", "population notes"}


def is_data_type(label: str) -> bool:
    return label.startswith("type of data") or label == "data type"


def is_destination_name(label: str) -> bool:
    return is_name(label) and label.endswith("of destination")


def is_origin_name(label: str) -> bool:
    return is_name(label) and label.endswith("of origin")


def is_destination_code(label: str) -> bool:
    return label.startswith(("location code of destination", "code of destination"))


def is_origin_code(label: str) -> bool:
    return label.startswith(("location code of origin", "code of origin"))
