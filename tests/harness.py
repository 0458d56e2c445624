"""What the fault tests share: a generated release (2020 and 2024) published once into a data
directory, a CLI run against it, and the checks that a failed run left the published warehouse as
it was and nothing half-written behind."""

from __future__ import annotations

import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from flows.ops.cli import app
from tests.conftest import sha256, write_catalogue
from tests.workbooks import YEARS, make_world, official_names, write_edition

DEST = official_names("2020")["destination"]
ORIGIN = official_names("2020")["origin"]
OD = official_names("2020")["origin_destination"]
CLASSIFICATION = official_names("2020")["classification"]
DEST_2024 = official_names("2024")["destination"]


@dataclass
class Setup:
    release: Path  # the good release files
    catalogue: Path  # points at them (and pins the classification's sha256)
    data: Path


def make_setup(tmp_path_factory: pytest.TempPathFactory) -> Setup:
    """The good release, its catalogue and a data directory where it is published."""
    release = tmp_path_factory.mktemp("good-release")
    write_edition(make_world("2020"), release)
    write_edition(make_world("2024"), release, od=False)
    editions = {"2020": dict(official_names("2020")), "2024": dict(official_names("2024"))}
    editions["2024"]["origin_destination"] = None
    catalogue = write_catalogue(release / "catalogue.yaml", editions, YEARS)
    doc = yaml.safe_load(catalogue.read_text())
    for edition in doc["editions"]:
        for f in edition["files"]:
            if f["kind"] == "classification":
                f["sha256"] = sha256(release / CLASSIFICATION)
    catalogue.write_text(yaml.safe_dump(doc, sort_keys=False))
    data = tmp_path_factory.mktemp("bad-inputs") / "data"
    result = run(release, catalogue, data)
    assert result.exit_code == 0, result.output
    return Setup(release, catalogue, data)


def run(source: Path | None, catalogue: Path, data: Path, *extra: str, log_format: str | None = None) -> object:
    fmt = ["--log-format", log_format] if log_format else []
    args = [*fmt, "run", "--data-dir", str(data), "--catalogue", str(catalogue), *extra]
    if source is not None:
        args += ["--source-dir", str(source)]
    return CliRunner().invoke(app, args, env={"COLUMNS": "400"})


def broken_copy(setup: Setup, tmp_path: Path) -> Path:
    folder = tmp_path / "release"
    shutil.copytree(setup.release, folder)
    return folder


def published_state(data: Path) -> tuple[str, str, str]:
    published = data / "published"
    return (
        os.readlink(published),
        sha256(published / "warehouse.duckdb"),
        sha256(published / "marts" / "corridors.parquet"),
    )


def assert_nothing_half_written(data: Path) -> None:
    assert not list((data / "releases").glob(".incoming-*")), "a partial download was left in the archive"
    assert not [p for p in (data / "published-versions").iterdir() if p.name.startswith(".partial-")]
    assert not list((data / "raw").rglob(".tmp-*")), "a partial Parquet file was left in the raw tables"
    assert not (data / "published-versions").joinpath(".partial").exists()


def assert_matches(pattern: str, output: str) -> None:
    assert re.search(pattern, output), f"expected /{pattern}/ in:\n{output}"
