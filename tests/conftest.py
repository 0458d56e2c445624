"""Shared fixtures: telemetry off, one Prefect test server per session, the real mirror, and
generated release folders with a catalogue that points at them."""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from flows.settings import PROJECT_DIR, disable_telemetry

disable_telemetry()
os.environ.setdefault("PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL", "CRITICAL")

MIRROR = Path(os.environ.get("MIGRATION_ETL_TEST_MIRROR", PROJECT_DIR.parent / "shared/data/undesa/mirror"))


@pytest.fixture(scope="session")
def prefect_server() -> Iterator[str]:
    """A real Prefect API on loopback for the whole session; flows run in-process against it, and
    CLI subprocesses get its URL so they skip starting a temporary server of their own."""
    from prefect.settings import PREFECT_API_URL
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=90):
        yield str(PREFECT_API_URL.value())


@pytest.fixture(scope="session")
def mirror() -> Path:
    if not (MIRROR / "undesa_pd_2020_ims_stock_by_sex_and_destination.xlsx").is_file():
        pytest.skip(f"the release mirror is not at {MIRROR} (set MIGRATION_ETL_TEST_MIRROR)")
    return MIRROR


def write_catalogue(path: Path, editions: dict[str, dict[str, str | None]], years: dict[str, list[int]]) -> Path:
    """A catalogue for generated files: edition -> {kind: file name}, sha256 left out unless given."""
    doc = {
        "base_url": "http://127.0.0.1:9/unused/",
        "editions": [
            {
                "edition": ed,
                "title": f"Synthetic edition {ed}",
                "years": years[ed],
                "files": [{"kind": kind, "name": name} for kind, name in files.items() if name],
                # the generated world is small: 5 countries, 4 regions, WORLD (and Other as an origin)
                "expected_locations": [8, 14],
                "expected_od_rows": [20, 80],
            }
            for ed, files in editions.items()
        ],
    }
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return path


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def copy_mirror(src: Path, dst: Path) -> Path:
    dst.mkdir(parents=True, exist_ok=True)
    for f in src.iterdir():
        if f.suffix in (".xlsx", ".csv"):
            shutil.copyfile(f, dst / f.name)
    return dst
