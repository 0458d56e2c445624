"""Tell people when a refresh fails: a JSON POST to `MIGRATION_ETL_ALERT_WEBHOOK`.

Only failures alert: a successful or unchanged run is the normal case and would train people to
ignore the channel. The one exception is a notice, not an alert: a run that published a version
of a file the catalogue did not know (accepted by an operator) says so once, so the team can
record the new version in the catalogue. The payload carries a `text` field, so a Slack or Mattermost incoming webhook
shows it as is, and the structured fields for anything that parses it. Sending is retried a few
times (3 attempts); if it still fails the run record says so, and the run's own failure is what the caller
sees, never the alert's.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import httpx
from tenacity import retry, retry_if_exception_type, stop_after_attempt, wait_exponential

from flows.results import FetchedFile, RunError
from flows.run_record import RunRecord
from flows.settings import Settings

logger = logging.getLogger(__name__)


def payload(record: RunRecord, settings: Settings) -> dict[str, Any]:
    error = record.error or RunError(step="refresh", type="", message="")
    return {
        "event": "refresh.failed",
        "text": f"Migration warehouse refresh {record.run_id} failed at step {error.step}: "
        f"{error.message} (data dir {record.data_dir}; run record {record.run_id}.json)",
        "run_id": record.run_id,
        "flow_run_id": record.flow_run_id,
        "status": record.status,
        "step": error.step,
        "error_type": error.type,
        "error": error.message,
        "data_dir": record.data_dir,
        "started_at": record.started_at.isoformat(),
        "finished_at": record.finished_at.isoformat() if record.finished_at else None,
        "run_record": str(record.path(settings.runs_dir)),
    }


def notice_payload(record: RunRecord, settings: Settings, accepted: list[FetchedFile]) -> dict[str, Any]:
    files = "; ".join(
        f"{i.edition} {i.kind.value} {i.name} ({i.size or 0:,} B, sha256 {i.sha256}, md5 {i.md5})" for i in accepted
    )
    return {
        "event": "refresh.notice",
        "text": f"Migration warehouse refresh {record.run_id} accepted a new version of {len(accepted)} file(s) "
        f"and published it after every check passed: {files}. Record it in the catalogue once reviewed "
        f"(migration-etl sources shows what is known). Data dir {record.data_dir}.",
        "run_id": record.run_id,
        "flow_run_id": record.flow_run_id,
        "status": record.status,
        "accepted": [
            i.model_dump(mode="json", include={"edition", "kind", "name", "size", "sha256", "md5", "git_blob"})
            for i in accepted
        ],
        "published_version": record.published_version,
        "data_dir": record.data_dir,
        "run_record": str(record.path(settings.runs_dir)),
    }


def alert_on_failure(record: RunRecord, settings: Settings) -> dict[str, Any] | None:
    """POST the failure to the webhook when one is configured; returns what happened, for the record."""
    if record.status != "failed":
        return None
    return _send(settings, lambda: payload(record, settings), "failure alert")


def notify_accepted(record: RunRecord, settings: Settings, accepted: list[FetchedFile]) -> dict[str, Any] | None:
    """POST a notice that this run published versions of files an operator accepted."""
    return _send(settings, lambda: notice_payload(record, settings, accepted), "notice of accepted versions")


def _send(settings: Settings, body: Callable[[], dict[str, Any]], what: str) -> dict[str, Any] | None:
    if settings.alert_webhook is None:
        return None
    url = settings.alert_webhook.get_secret_value()
    try:
        status = _post(url, body(), min(settings.http_timeout_seconds, 30.0))
    except Exception as exc:  # noqa: BLE001 - the run's own outcome is what the caller must see
        logger.warning("could not send the %s to %s: %s", what, redacted(url), exc)
        return {"sent": False, "to": redacted(url), "error": f"{type(exc).__name__}: {exc}"}
    return {"sent": True, "to": redacted(url), "http_status": status}


@retry(
    stop=stop_after_attempt(3),
    wait=wait_exponential(multiplier=0.5, max=5),
    retry=retry_if_exception_type((httpx.TransportError, RuntimeError)),
    reraise=True,
)
def _post(url: str, body: dict[str, Any], timeout: float) -> int:
    response = httpx.post(url, json=body, timeout=timeout)
    if response.status_code >= 500:
        raise RuntimeError(f"HTTP {response.status_code} from the webhook")
    if response.status_code >= 400:
        raise httpx.HTTPStatusError(f"HTTP {response.status_code}", request=response.request, response=response)
    return response.status_code


def redacted(url: str) -> str:
    """Webhook URLs carry their secret in the path: keep the host only."""
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL:
        return "<invalid URL>"
    return f"{parsed.scheme}://{parsed.host}{':' + str(parsed.port) if parsed.port else ''}/…"
