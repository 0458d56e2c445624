"""The release catalogue: which editions exist, which files make each one, where they live.

Kept as a committed YAML file validated by pydantic, so a typo in a new edition fails at load time
with the field named, before any download starts.

Over 300 lines, on purpose: it is the schema of `flows/releases.yaml`, one pydantic model per level
of the file (catalogue, edition, file, known version), each field with the description a
contributor reads when adding an edition, validated together (two records of one hash that
disagree refuse the whole catalogue). Split, the file's schema would be read in pieces.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from flows.errors import CatalogueError


class FileKind(StrEnum):
    ORIGIN_DESTINATION = "origin_destination"
    DESTINATION = "destination"
    ORIGIN = "origin"
    CLASSIFICATION = "classification"
    # UNSD's M49 list (current names, ISO3, LDC/LLDC/SIDS): not part of a release, listed with the newest
    M49 = "m49"
    # published beside the others and catalogued for its identity only (`ingest: false`)
    DESTINATION_BY_AGE = "destination_by_age"


# the kinds a parser reads (flows.parse); any other kind is catalogued with `ingest: false`
PARSED_KINDS = frozenset(
    {FileKind.ORIGIN_DESTINATION, FileKind.DESTINATION, FileKind.ORIGIN, FileKind.CLASSIFICATION, FileKind.M49}
)


class VersionStatus(StrEnum):
    """What is known of one version of a file, and how."""

    VERIFIED = "verified"  # hashed here, from a copy of the official bytes
    THIRD_PARTY = "third-party"  # recorded by someone else from an official download
    UNCHECKED = "unchecked"  # a third party's figure that nobody checked against a copy
    RECONSTRUCTION = "reconstruction"  # not official: a stand-in written in the official layout
    RESAVED = "re-saved copy"  # not official: the official file re-saved by a user


OFFICIAL = frozenset({VersionStatus.VERIFIED, VersionStatus.THIRD_PARTY, VersionStatus.UNCHECKED})

# Placeholders the release notes define for "no number here" (SOURCES.md section 4): `..` not
# available, `…` likewise, `~` suppressed (under 5), `—` under half a unit. A file may list its own
# (`placeholders`); anything else textual in a number cell is an error.
DEFAULT_PLACEHOLDERS = ("..", "…", "~", "—")
Sex = Literal["total", "male", "female"]
SEXES: tuple[Sex, ...] = ("total", "male", "female")
HASH_LENGTHS = {"sha256": 64, "md5": 32, "git_blob": 40}
NAME_MAX = 255  # bytes in a file name on Linux, macOS and Windows file systems alike


class KnownVersion(BaseModel):
    """One version of a file known to exist, by any of the identities people record: a SHA-256
    computed here, an MD5 and size from someone's download log, a git blob from a repository."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    sha256: str | None = None
    md5: str | None = None
    git_blob: str | None = None
    size: int | None = Field(default=None, gt=0, description="Bytes.")
    status: VersionStatus
    source: str = Field(min_length=3, max_length=160, description="Where the identity comes from, in a few words.")
    sexes: list[Sex] = Field(
        default_factory=lambda: list(SEXES),
        description="The sexes this version's tables give (a copy may hold both sexes only); the parse step "
        "checks the file gives exactly these.",
    )

    @field_validator("sha256", "md5", "git_blob")
    @classmethod
    def _hex(cls, value: str | None, info: ValidationInfo) -> str | None:
        length = HASH_LENGTHS[str(info.field_name)]
        if value is not None:
            value = value.lower()
            if len(value) != length or any(c not in "0123456789abcdef" for c in value):
                raise ValueError(f"{info.field_name} must be {length} hexadecimal characters")
        return value

    @model_validator(mode="after")
    def _identifiable(self) -> KnownVersion:
        if not self.hashes:
            raise ValueError("a version needs at least one of sha256, md5, git_blob (a size alone identifies nothing)")
        if self.status == VersionStatus.VERIFIED and self.sha256 is None:
            raise ValueError("a verified version gives the sha256 computed here")
        return self

    @property
    def hashes(self) -> dict[str, str]:
        return {name: value for name in HASH_LENGTHS if (value := getattr(self, name)) is not None}

    @property
    def official(self) -> bool:
        return self.status in OFFICIAL

    def describe(self) -> str:
        """`official, verified here (mirror copy): 551,092 B, sha256 c2bae98812a1, md5 f0aabd36fb10`"""
        what = {
            VersionStatus.VERIFIED: "official, verified here",
            VersionStatus.THIRD_PARTY: "official, third-party record",
            VersionStatus.UNCHECKED: "official, unchecked third-party figure",
        }.get(self.status, f"not official, {self.status.value}")
        ids = [f"{self.size:,} B"] if self.size else []
        ids += [f"{name} {value[:12]}" for name, value in self.hashes.items()]
        return f"{what} ({self.source}): {', '.join(ids)}"


class ReleaseFile(BaseModel):
    model_config = ConfigDict(extra="forbid")  # a misspelt key (sha265) must not drop a pin silently

    kind: FileKind
    name: str = Field(description="Official file name; also the name it is archived and mirrored under.")
    url: str | None = Field(default=None, description="Download address; defaults to base_url + name.")
    download_page: str | None = Field(
        default=None,
        description="Where a person exports the file by hand (no stable download address): the refresh takes "
        "it from a mirror only, and over HTTP reports it missing with this page.",
    )
    placeholders: list[str] = Field(
        default_factory=lambda: list(DEFAULT_PLACEHOLDERS),
        min_length=1,
        description="The placeholders this file's number cells may hold, read as 'not available'.",
    )
    none_marker: str | None = Field(
        default=None,
        description="A placeholder that this file puts in every origin cell without a figure, read as 'no "
        "migrants listed' like a blank (the 2017 origin-destination table fills them with '..').",
    )
    versions: list[KnownVersion] = Field(
        default_factory=list,
        description="Every version of this file known to exist, official or not (flows.ingest.identity judges a "
        "fetched file against them). Empty: the file is 'unverified'.",
    )
    sha256: str | None = Field(
        default=None, description="Shorthand for one verified version known by its SHA-256 alone."
    )
    ingest: bool = Field(
        default=True, description="False: catalogued for its identity (migration-etl sources), never fetched."
    )

    @field_validator("sha256")
    @classmethod
    def _hex(cls, value: str | None) -> str | None:
        if value is not None:
            value = value.lower()
            if len(value) != 64 or any(c not in "0123456789abcdef" for c in value):
                raise ValueError("sha256 must be 64 hexadecimal characters")
        return value

    @field_validator("name")
    @classmethod
    def _plain_name(cls, value: str) -> str:
        if "/" in value or "\\" in value or value.startswith("."):
            raise ValueError("name must be a plain file name")
        if any(ord(c) < 32 or ord(c) == 127 for c in value):
            raise ValueError("name holds a control character (a NUL, a newline, ...)")
        if len(value.encode()) > NAME_MAX:
            raise ValueError(f"name is {len(value.encode()):,} bytes long, past the {NAME_MAX} a file name may have")
        return value

    @model_validator(mode="after")
    def _shorthand(self) -> ReleaseFile:
        if self.sha256 is None:
            return self
        listed = [v for v in self.versions if v.sha256 == self.sha256]
        if any(v.status != VersionStatus.VERIFIED for v in listed):
            raise ValueError(
                f"{self.name}: sha256 {self.sha256} is pinned (a verified version) and listed as "
                f"{listed[0].status.value} in versions; keep one"
            )
        if not listed:
            pinned = KnownVersion(sha256=self.sha256, status=VersionStatus.VERIFIED, source="pinned in the catalogue")
            self.versions = [pinned, *self.versions]
        return self

    def disagreement(self) -> str | None:
        """Two records that share a hash describe the same bytes: they must agree on every other
        identity they both give, and on whether those bytes are official."""
        for i, a in enumerate(self.versions):
            for b in self.versions[i + 1 :]:
                shared = [name for name, value in a.hashes.items() if b.hashes.get(name) == value]
                if not shared:
                    continue
                for name in (*HASH_LENGTHS, "size"):
                    x, y = getattr(a, name), getattr(b, name)
                    if x is not None and y is not None and x != y:
                        return (
                            f"{self.name}: '{b.source}' ({b.status.value}) disagrees with '{a.source}' "
                            f"({a.status.value}): same {shared[0]} but {name} {y} vs {x}"
                        )
                if a.official != b.official:
                    return (
                        f"{self.name}: the same {shared[0]} is listed as {a.status.value} ('{a.source}') "
                        f"and as {b.status.value} ('{b.source}')"
                    )
        return None


class Edition(BaseModel):
    model_config = ConfigDict(extra="forbid")

    edition: str = Field(pattern=r"^\d{4}$")
    title: str
    citation: str = Field(default="", description="How UN DESA asks the edition to be cited.")
    licence: str = Field(default="", description="The terms the edition's workbooks state.")
    base_url: str | None = Field(default=None, description="Where this edition's files are, if not the catalogue's.")
    allowed_hosts: list[str] | None = Field(
        default=None, description="Hosts a download may be redirected to, if not the catalogue's."
    )
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

    @field_validator("expected_locations", "expected_od_rows")
    @classmethod
    def _bounds(cls, value: tuple[int, int]) -> tuple[int, int]:
        low, high = value
        if low < 0 or low > high:
            raise ValueError(f"must be [low, high] with 0 <= low <= high, not {list(value)}")
        return value

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
        for f in self.files:
            if f.ingest and f.kind not in PARSED_KINDS:
                raise ValueError(f"edition {self.edition}: no parser reads {f.kind.value} files; give it ingest: false")
            if not f.ingest and f.kind == FileKind.CLASSIFICATION:
                raise ValueError(f"edition {self.edition}: the classification file must be ingested")
            if problem := f.disagreement():
                raise ValueError(f"edition {self.edition}: {problem}")
        return self

    @property
    def ingested(self) -> list[ReleaseFile]:
        """The files a refresh fetches and parses (not those catalogued for their identity only)."""
        return [f for f in self.files if f.ingest]

    def file(self, kind: FileKind) -> ReleaseFile | None:
        return next((f for f in self.files if f.kind == kind), None)


class Catalogue(BaseModel):
    model_config = ConfigDict(extra="forbid")

    base_url: str
    allowed_hosts: list[str] = Field(
        default_factory=list,
        description="Hosts a download may be redirected to besides the host of the file's own address "
        "(flows/http.py); any other is refused.",
    )
    editions: list[Edition] = Field(min_length=1)

    @model_validator(mode="after")
    def _fill_urls(self) -> Catalogue:
        names = [e.edition for e in self.editions]
        if len(names) != len(set(names)):
            raise ValueError("an edition is listed twice")
        owners: dict[str, str] = {}  # a hash -> the file it identifies: one file's bytes are no other's
        for edition in self.editions:
            for f in edition.files:
                for version in f.versions:
                    for kind, value in version.hashes.items():
                        if owners.setdefault(value, f.name) != f.name:
                            raise ValueError(
                                f"edition {edition.edition}: {kind} {value} of {f.name} is also listed for "
                                f"{owners[value]}"
                            )
        for edition in self.editions:
            if edition.allowed_hosts is None:
                edition.allowed_hosts = list(self.allowed_hosts)
            base = edition.base_url or self.base_url
            for f in edition.files:
                if f.url is None and f.download_page is None:
                    f.url = base.rstrip("/") + "/" + f.name
        return self

    def edition(self, edition: str) -> Edition:
        for e in self.editions:
            if e.edition == edition:
                return e
        raise KeyError(edition)


class _StrictLoader(yaml.SafeLoader):
    """YAML's safe loader, except that a key given twice in one mapping is an error: PyYAML keeps
    the last one silently, so a second `sha256:` would replace the first without a word."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, yaml.Mark] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    "while reading a mapping",
                    node.start_mark,
                    f"the key {key!r} is given twice (first on line {seen[key].line + 1})",
                    key_node.start_mark,
                )
            seen[key] = key_node.start_mark
        return super().construct_mapping(node, deep=deep)


def load_catalogue(path: Path) -> Catalogue:
    if not path.exists():
        raise CatalogueError(f"{path}: release catalogue not found")
    if not path.is_file():
        raise CatalogueError(f"{path}: the release catalogue must be a YAML file, and this is a directory or device")
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CatalogueError(
            f"{path}: the release catalogue is not UTF-8 text (byte {exc.start:,}): a binary file?"
        ) from None
    except OSError as exc:
        raise CatalogueError(f"{path}: cannot read the release catalogue ({exc.strerror or exc})") from None
    try:
        data = yaml.load(text, Loader=_StrictLoader)  # a SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
        raise CatalogueError(f"{path}: not valid YAML: {where}{exc.problem or exc.context}") from None
    except yaml.YAMLError as exc:
        raise CatalogueError(f"{path}: not valid YAML: {' '.join(str(exc).split())}") from None
    if not isinstance(data, dict):
        raise CatalogueError(
            f"{path}: the release catalogue must be a mapping (base_url, editions), not {type(data).__name__}"
        )
    try:
        return Catalogue.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(f"{_where(err['loc'], data)}: {_message(err)}" for err in exc.errors())
        raise CatalogueError(f"{path}: invalid release catalogue: {problems}") from None


def _where(loc: tuple[int | str, ...], data: Any) -> str:
    """A pydantic location as a reader finds it in the YAML: `edition 2020, file
    undesa_pd_2020_....xlsx, versions[1].sha265` rather than `editions.0.files.1.versions.1.sha265`."""
    parts: list[str] = []
    node = data
    for i, step in enumerate(loc):
        container = loc[i - 1] if i else None
        child = _child(node, step)
        if container == "editions" and isinstance(child, dict) and "edition" in child:
            parts[-1] = f"edition {_shown(child['edition'])}"
        elif container == "files" and isinstance(child, dict) and "name" in child:
            parts[-1] = f"file {_shown(child['name'])}"
        elif isinstance(step, int):
            parts[-1] = f"{parts[-1]}[{step}]" if parts else f"[{step}]"
        else:
            parts.append(str(step))
        node = child
    return ", ".join(parts) if parts else "the catalogue"


def _shown(value: Any, limit: int = 80) -> str:
    """A value from the file as it may be quoted in a message: control characters escaped, cut short."""
    text = str(value)
    if any(ord(c) < 32 or ord(c) == 127 for c in text):
        text = repr(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _child(node: Any, step: int | str) -> Any:
    if isinstance(node, list) and isinstance(step, int) and 0 <= step < len(node):
        return node[step]
    if isinstance(node, dict):
        return node.get(step)
    return None


def _message(err: Any) -> str:
    message = str(err["msg"]).removeprefix("Value error, ")
    if err["type"] == "extra_forbidden":
        return "unknown key (misspelt?)"
    return message
