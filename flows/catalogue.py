"""The release catalogue: which editions exist, which files make each one, where they live.

Kept as a committed YAML file validated by pydantic, so a typo in a new edition fails at load time
with the field named, before any download starts.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

import yaml
from pydantic import BaseModel, Field, ValidationError, ValidationInfo, field_validator, model_validator

from flows.errors import CatalogueError


class FileKind(StrEnum):
    ORIGIN_DESTINATION = "origin_destination"
    DESTINATION = "destination"
    ORIGIN = "origin"
    CLASSIFICATION = "classification"


class ReleaseFile(BaseModel):
    kind: FileKind
    name: str = Field(description="Official file name; also the name it is archived and mirrored under.")
    url: str | None = Field(default=None, description="Download address; defaults to base_url + name.")
    sha256: str | None = Field(default=None, description="Expected SHA-256; enforced when given.")
    git_blob: str | None = Field(
        default=None,
        description="Git blob id of the official bytes, where only that is known: a file that differs "
        "is used but recorded as not the official file.",
    )

    @field_validator("sha256", "git_blob")
    @classmethod
    def _hex(cls, value: str | None, info: ValidationInfo) -> str | None:
        length = 64 if info.field_name == "sha256" else 40
        if value is not None:
            value = value.lower()
            if len(value) != length or any(c not in "0123456789abcdef" for c in value):
                raise ValueError(f"{info.field_name} must be {length} hexadecimal characters")
        return value

    @field_validator("name")
    @classmethod
    def _plain_name(cls, value: str) -> str:
        if "/" in value or "\\" in value or value.startswith("."):
            raise ValueError("name must be a plain file name")
        return value


class Edition(BaseModel):
    edition: str = Field(pattern=r"^\d{4}$")
    title: str
    years: list[int] = Field(min_length=1, description="Reference years of the edition, in order.")
    files: list[ReleaseFile]
    expected_locations: tuple[int, int] = Field(
        default=(250, 320),
        description="How many locations (countries, areas and aggregates) each totals table lists; "
        "a table outside the range is a quality failure.",
    )
    expected_od_rows: tuple[int, int] = Field(
        default=(10_000, 40_000),
        description="How many (destination, origin) rows the origin-destination table lists.",
    )

    @model_validator(mode="after")
    def _one_file_per_kind(self) -> Edition:
        kinds = [f.kind for f in self.files]
        duplicated = {k.value for k in kinds if kinds.count(k) > 1}
        if duplicated:
            raise ValueError(f"edition {self.edition} lists more than one file of kind {sorted(duplicated)}")
        if FileKind.CLASSIFICATION not in kinds:
            raise ValueError(f"edition {self.edition} has no classification file")
        if self.years != sorted(set(self.years)):
            raise ValueError(f"edition {self.edition}: years must be strictly increasing")
        return self

    def file(self, kind: FileKind) -> ReleaseFile | None:
        return next((f for f in self.files if f.kind == kind), None)


class Catalogue(BaseModel):
    base_url: str
    editions: list[Edition] = Field(min_length=1)

    @model_validator(mode="after")
    def _fill_urls(self) -> Catalogue:
        names = [e.edition for e in self.editions]
        if len(names) != len(set(names)):
            raise ValueError("an edition is listed twice")
        for edition in self.editions:
            for f in edition.files:
                if f.url is None:
                    f.url = self.base_url.rstrip("/") + "/" + f.name
        return self

    def edition(self, edition: str) -> Edition:
        for e in self.editions:
            if e.edition == edition:
                return e
        raise KeyError(edition)


def load_catalogue(path: Path) -> Catalogue:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise CatalogueError(f"{path}: release catalogue not found") from exc
    except yaml.YAMLError as exc:
        raise CatalogueError(f"{path}: not valid YAML: {exc}") from exc
    try:
        return Catalogue.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors())
        raise CatalogueError(f"{path}: invalid release catalogue: {problems}") from exc
