"""Fetch one page with httpx and keep the raw response as evidence.

Takes an ``httpx.Client`` from the caller (never builds one inside), so tests and the demo can
pass a client over a MockTransport or a loopback server. ``make_client`` builds the production one.
"""

import time
from collections.abc import Callable
from datetime import UTC, datetime

import httpx

from copswatch import __version__
from scraper.errors import FetchError, HTTPStatusError
from scraper.model import FetchResult

USER_AGENT = (
    f"copswatch/{__version__} (+https://github.com/copswatch/copswatch; "
    "archival monitor of public DOJ pages)"
)
KEPT_HEADERS = ("content-type", "etag", "last-modified", "content-length", "date", "server")
MAX_REDIRECTS = 10


def make_client(*, user_agent: str = USER_AGENT, timeout: float = 30.0) -> httpx.Client:
    return httpx.Client(
        headers={"User-Agent": user_agent},
        timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
        follow_redirects=True,
        max_redirects=MAX_REDIRECTS,
    )


def utcnow() -> datetime:
    return datetime.now(UTC)


def fetch(client: httpx.Client, url: str, *, clock: Callable[[], datetime] = utcnow) -> FetchResult:
    """GET ``url``; raise FetchError (with the status when there was one) unless it answers 2xx.

    ``clock`` stamps the capture (simulations and tests pass their own).
    """
    fetched_at = clock()
    started = time.perf_counter()
    try:
        response = client.get(url)
    except httpx.TooManyRedirects:
        raise FetchError(url, f"more than {MAX_REDIRECTS} redirects") from None
    except httpx.TimeoutException as exc:
        raise FetchError(url, f"timed out ({type(exc).__name__})") from None
    except httpx.HTTPError as exc:
        raise FetchError(url, f"request failed: {type(exc).__name__}: {exc}") from None
    duration_ms = (time.perf_counter() - started) * 1000
    if not 200 <= response.status_code < 300:
        raise HTTPStatusError(
            url, f"HTTP {response.status_code} {response.reason_phrase}", status=response.status_code
        )
    return FetchResult(
        url=url,
        final_url=str(response.url),
        status=response.status_code,
        headers={k: response.headers[k] for k in KEPT_HEADERS if k in response.headers},
        body=response.content,
        fetched_at=fetched_at,
        duration_ms=round(duration_ms, 1),
        redirects=tuple(str(r.url) for r in response.history),
    )
