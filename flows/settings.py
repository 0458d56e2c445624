"""The one settings object: every path and knob the pipeline, the CLI and the app read.

Values come from `MIGRATION_ETL_*` environment variables (or a `.env` file) so that a scheduled
deployment, a CI job and a developer's shell configure the same thing the same way; CLI flags
override them by constructing `Settings(data_dir=...)` explicitly.
"""

from __future__ import annotations

import contextlib
import os
from functools import cached_property
from pathlib import Path
from typing import Any

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from flows.errors import EtlError

PACKAGE_DIR = Path(__file__).resolve().parent
PROJECT_DIR = PACKAGE_DIR.parent
DEFAULT_CATALOGUE = PACKAGE_DIR / "releases.yaml"

# A browser-like User-Agent: the UN site answers 403 to default HTTP client agents.
BROWSER_USER_AGENT = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0 Safari/537.36 migration-corridors-warehouse/0.1"
)

# Telemetry of every tool in the stack is off unless someone turns it on on purpose.
TELEMETRY_OFF = {
    "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    "DO_NOT_TRACK": "1",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "GX_ANALYTICS_ENABLED": "false",
    "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false",
}


def disable_telemetry() -> None:
    """Set the opt-out variables before dbt, Prefect or GX are imported and read them."""
    for key, value in TELEMETRY_OFF.items():
        os.environ.setdefault(key, value)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MIGRATION_ETL_", env_file=".env", extra="ignore")

    data_dir: Path = Field(default=Path("data"), description="Root of the warehouse's data directory.")
    source_dir: Path | None = Field(
        default=None, description="Local mirror of the release files; when unset, files are downloaded."
    )
    catalogue: Path = Field(default=DEFAULT_CATALOGUE, description="Release catalogue (YAML).")
    dbt_project_dir: Path = Field(default=PROJECT_DIR / "dbt_project")
    dbt_threads: int = Field(default=2, ge=1)
    duckdb_memory_limit: str = Field(
        default="2GB",
        pattern=r"^\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)$",
        description="DuckDB's memory limit in the build (dbt, the quality gate, publish); past it DuckDB "
        "spills to disk. Its own default, 80% of RAM, let a 100x edition's build reach 15 GB.",
    )
    # Deadlines per step. Each can fire: the steps run in the flow's main thread, where Prefect's
    # timeout interrupts them (a native call such as calamine's read ends first); a download checks
    # its own deadline between chunks; dbt runs in a thread its deadline cancels (flows.build.dbt).
    detect_timeout_seconds: float = Field(default=300.0, gt=0, description="Asking the sources what changed.")
    fetch_timeout_seconds: float = Field(
        default=1800.0, gt=0, description="Downloading (or copying from the mirror) one file, start to end."
    )
    parse_timeout_seconds: float = Field(default=900.0, gt=0, description="Parsing one file.")
    dbt_timeout_seconds: float = Field(default=1800.0, gt=0, description="Fail the build if dbt runs longer.")
    quality_timeout_seconds: float = Field(default=900.0, gt=0, description="The quality gate.")
    docs_timeout_seconds: float = Field(default=300.0, gt=0, description="Generating the dbt docs.")
    publish_timeout_seconds: float = Field(default=600.0, gt=0, description="Publishing the build.")

    http_timeout_seconds: float = Field(default=60.0, gt=0)
    http_connect_timeout_seconds: float = Field(default=10.0, gt=0)
    http_attempts: int = Field(default=4, ge=1, description="Tries per file, including the first.")
    http_backoff_seconds: float = Field(default=2.0, ge=0, description="First retry wait; doubles each time.")
    http_max_bytes: int = Field(default=100 * 1024 * 1024, gt=0, description="Refuse larger downloads.")
    http_user_agent: str = BROWSER_USER_AGENT

    accept_new_versions: bool = Field(
        default=False,
        description="Accept a file that matches none of the versions the catalogue knows (a re-published "
        "file): archive it beside the old version, check it like any file, publish it marked as such.",
    )

    alert_webhook: SecretStr | None = Field(
        default=None, description="POST a JSON alert here when a refresh fails (Slack-compatible `text` field)."
    )

    @field_validator("*", mode="before")
    @classmethod
    def _not_empty(cls, value: Any) -> Any:
        """An empty value is a mistake, not a default: an empty data dir once meant the current
        directory, and a refresh wrote a whole data directory into the checkout."""
        if isinstance(value, (str, Path)) and not str(value).strip():
            raise ValueError("is empty (unset it to use the default)")
        return value

    @field_validator("alert_webhook")
    @classmethod
    def _http_url(cls, value: SecretStr | None) -> SecretStr | None:
        """A bad webhook is refused when the settings load, not discovered at the first failure."""
        if value is None:
            return None
        import httpx

        try:
            url = httpx.URL(value.get_secret_value())
        except httpx.InvalidURL as exc:
            raise ValueError(f"MIGRATION_ETL_ALERT_WEBHOOK is not a valid URL: {exc}") from None
        if url.scheme not in ("http", "https") or not url.host:
            raise ValueError("MIGRATION_ETL_ALERT_WEBHOOK must be an http(s) URL with a host")
        return value

    @cached_property
    def root(self) -> Path:
        return self.data_dir.expanduser().resolve()

    @property
    def releases_dir(self) -> Path:
        return self.root / "releases"

    @property
    def raw_dir(self) -> Path:
        return self.root / "raw"

    @property
    def build_dir(self) -> Path:
        return self.root / "build"

    @property
    def published_dir(self) -> Path:
        return self.root / "published"

    @property
    def versions_dir(self) -> Path:
        """Complete published versions; `published` is a symlink to one of them."""
        return self.root / "published-versions"

    @property
    def warehouse_path(self) -> Path:
        return self.published_dir / "warehouse.duckdb"

    @property
    def marts_dir(self) -> Path:
        return self.published_dir / "marts"

    @property
    def quality_dir(self) -> Path:
        """Great Expectations' project and the Data Docs site (`quality/docs/index.html`)."""
        return self.root / "quality"

    @property
    def runs_dir(self) -> Path:
        return self.root / "runs"


class SettingsError(EtlError):
    """Settings that cannot be used, named by the variable or flag that gave them. `fallback` is
    the same settings with the bad values left at their defaults, when the data directory itself is
    fine: the refusal can still be recorded there and alerted."""

    step = "settings"

    def __init__(self, message: str, fallback: Settings | None) -> None:
        super().__init__(message)
        self.fallback = fallback


def load_settings(**overrides: Any) -> Settings:
    """Settings from the environment (and .env), with the CLI's overrides; one line per mistake."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        problems, bad = [], set()
        for error in exc.errors():
            name = str(error["loc"][0]) if error["loc"] else "settings"
            bad.add(name)
            where = f"--{name.replace('_', '-')}" if name in overrides else f"MIGRATION_ETL_{name.upper()}"
            shown = repr(error.get("input"))
            shown = shown if len(shown) <= 60 else shown[:59] + "…"
            if name == "alert_webhook" and error.get("input"):
                shown = "(hidden: it may hold a token)"
            message = str(error["msg"]).removeprefix("Value error, ")
            problems.append(f"{where}={shown}: {message}")
        fallback = None
        if "data_dir" not in bad:
            kept = {k: v for k, v in overrides.items() if k not in bad}
            defaults = {name: Settings.model_fields[name].get_default(call_default_factory=True) for name in bad}
            with contextlib.suppress(ValidationError, KeyError):
                fallback = Settings(**kept, **defaults)
        raise SettingsError("invalid settings: " + "; ".join(problems), fallback) from None
