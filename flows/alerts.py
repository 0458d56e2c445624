"""Tell people when a refresh fails: a JSON POST to `MIGRATION_ETL_ALERT_WEBHOOK`.

Only failures alert: a successful or unchanged run is the normal case and would train people to
ignore the channel. The payload carries a `text` field, so a Slack or Mattermost incoming webhook
shows it as is, and the structured fields for anything that parses it. Sending is retried a few
times (3 attempts); if it still fails the run record says so, and the run's own failure is what the caller
sees, never the alert's.
"""

from __future__ import annotations

import logging
from typing import Any

import httpx
from tenacity import retry, retry_if_exception_type, stop_after_attempt, wait_exponential

from flows.run_record import RunRecord
from flows.settings import Settings

logger = logging.getLogger(__name__)


def payload(record: RunRecord, settings: Settings) -> dict[str, Any]:
    error = record.error or {}
    return {
        "event": "refresh.failed",
        "text": f"Migration warehouse refresh {record.run_id} failed at step {error.get('step')}: "
        f"{error.get('message')} (data dir {record.data_dir}; run record {record.run_id}.json)",
        "run_id": record.run_id,
        "flow_run_id": record.flow_run_id,
        "status": record.status,
        "step": error.get("step"),
        "error_type": error.get("type"),
        "error": error.get("message"),
        "data_dir": record.data_dir,
        "started_at": record.started_at.isoformat(),
        "finished_at": record.finished_at.isoformat() if record.finished_at else None,
        "run_record": str(record.path(settings.runs_dir)),
    }


def alert_on_failure(record: RunRecord, settings: Settings) -> dict[str, Any] | None:
    """POST the failure to the webhook when one is configured; returns what happened, for the record."""
    if record.status != "failed" or settings.alert_webhook is None:
        return None
    url = settings.alert_webhook.get_secret_value()
    try:
        status = _post(url, payload(record, settings), min(settings.http_timeout_seconds, 30.0))
    except Exception as exc:  # noqa: BLE001 - the run's own failure is what the caller must see
        logger.warning("could not send the failure alert to %s: %s", redacted(url), exc)
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
