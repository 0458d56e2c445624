"""The HTTP client every request to a release source goes through (asking what changed, downloading).

Redirects are followed only to the host the catalogue names for the file, or to a host the
catalogue allows (`allowed_hosts`), and never from https down to http: a file's provenance is where
its bytes came from, and a redirect to an unknown host would hand the warehouse whatever that host
serves under an official name. The final address is what the run record keeps.
"""

from __future__ import annotations

from collections.abc import Iterable

import httpx

from flows.errors import FetchError
from flows.settings import Settings

MAX_REDIRECTS = 5


class RedirectRefused(FetchError):
    """A redirect to a host the catalogue does not allow for the file."""


def source_client(settings: Settings, name: str, url: str, allowed_hosts: Iterable[str]) -> httpx.Client:
    """A client for one file's requests: the UN site refuses default user agents, and each
    redirect is checked before it is followed."""
    allowed = {httpx.URL(url).host, *allowed_hosts}

    def check(response: httpx.Response) -> None:
        if not response.has_redirect_location:
            return
        target = response.url.join(response.headers["location"])
        if target.host not in allowed:
            raise RedirectRefused(
                f"{name}: {response.url} redirects to {target}, on host {target.host}, which the catalogue does "
                f"not allow ({', '.join(sorted(allowed))}); refused. If that host is the publisher's, add it to "
                "`allowed_hosts` in the catalogue"
            )
        if response.url.scheme == "https" and target.scheme != "https":
            raise RedirectRefused(f"{name}: {response.url} redirects to {target}, from https down to http; refused")

    return httpx.Client(
        headers={"User-Agent": settings.http_user_agent, "Accept": "*/*"},
        timeout=httpx.Timeout(settings.http_timeout_seconds, connect=settings.http_connect_timeout_seconds),
        follow_redirects=True,
        max_redirects=MAX_REDIRECTS,
        event_hooks={"response": [check]},
    )


def too_many_redirects(name: str, url: str) -> FetchError:
    return FetchError(f"{name}: {url} redirects more than {MAX_REDIRECTS} times; refused")
