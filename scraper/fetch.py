"""Fetch one page with httpx, politely, and keep the raw response as evidence.

Takes an ``httpx.Client`` from the caller (never builds one inside), so tests and the demo can
pass a client over a MockTransport or a loopback server. ``make_client`` builds the production one
(proxies come from the standard HTTP_PROXY/HTTPS_PROXY/NO_PROXY variables: httpx ``trust_env``).

One ``fetch`` call: robots.txt (``scraper.robots``), then up to ``FetchPolicy.retry.attempts``
tries (``scraper.retry`` decides the waits), all inside ``total_timeout`` seconds. The body is
streamed and abandoned as soon as it passes ``max_body_size``. Conditional headers (RFC 9110
§13.1) come from the caller; a 304 returns a ``FetchResult`` with status 304 and no body.
"""

import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import httpx

from copswatch import __version__
from scraper import robots
from scraper.errors import FetchError, HTTPStatusError, TooLarge
from scraper.model import FetchResult
from scraper.retry import RetryPolicy, is_transient, retry_after_seconds, retry_delay

USER_AGENT = (
    f"copswatch/{__version__} (+https://github.com/copswatch/copswatch; "
    "archival monitor of public DOJ pages)"
)
KEPT_HEADERS = ("content-type", "etag", "last-modified", "content-length", "date", "server")
MAX_REDIRECTS = 10
_USERINFO = re.compile(r"(\b[a-z][a-z0-9+.-]*://)[^/@\s]+@", re.IGNORECASE)


@dataclass(frozen=True)
class FetchPolicy:
    user_agent: str = USER_AGENT
    timeout: float = 30.0  # seconds per read, write or pool wait
    connect_timeout: float = 10.0
    total_timeout: float = 300.0  # seconds for the whole fetch: retries, waits and download
    max_body_size: int = 10 * 1024 * 1024  # bytes, after content decoding
    max_redirects: int = MAX_REDIRECTS
    obey_robots: bool = True
    retry: RetryPolicy = field(default_factory=RetryPolicy)


class DeferredTLSContext:
    """httpx's default TLS context (``httpx.create_ssl_context()``: certificates and host names verified
    against $SSL_CERT_FILE, $SSL_CERT_DIR or certifi's bundle), built on first use.

    Loading the CA bundle takes ~20 ms; httpx builds it when the client is made, even for a check
    of an http:// URL that never opens a TLS connection. Passed as ``verify=``, this stands in for
    the context: the first attribute httpcore reads from it (``set_alpn_protocols``, then
    ``wrap_socket``, when it opens a TLS connection: an https URL, a redirect to one, a proxy
    tunnel) builds the real context, and every later one uses it. Verification is httpx's own.
    """

    def __init__(self):
        self._context = None
        self._lock = threading.Lock()

    def __getattr__(self, name: str):
        with self._lock:
            if self._context is None:
                self._context = httpx.create_ssl_context(trust_env=True)
        return getattr(self._context, name)


def make_client(
    *, user_agent: str = USER_AGENT, timeout: float = 30.0, connect_timeout: float = 10.0,
    max_redirects: int = MAX_REDIRECTS,
) -> httpx.Client:
    return httpx.Client(
        verify=DeferredTLSContext(),
        headers={"User-Agent": user_agent},
        timeout=httpx.Timeout(timeout, connect=min(timeout, connect_timeout)),
        follow_redirects=True,
        max_redirects=max_redirects,
        trust_env=True,
    )


def utcnow() -> datetime:
    return datetime.now(UTC)


def redact(text: str) -> str:
    """Credentials in URLs (a proxy's user:password@) never reach a reason, a log or the archive."""
    return _USERINFO.sub(r"\1***@", text)


class _Transient(Exception):
    def __init__(self, reason: str, status: int | None = None, retry_after: float | None = None):
        self.reason, self.status, self.retry_after = reason, status, retry_after


def fetch(
    client: httpx.Client,
    url: str,
    *,
    clock: Callable[[], datetime] = utcnow,
    policy: FetchPolicy | None = None,
    etag: str | None = None,
    last_modified: str | None = None,
) -> FetchResult:
    """GET ``url``; raise FetchError (with the status when there was one) unless it answers 2xx or 304.

    ``etag``/``last_modified`` are the validators of the last good capture, sent as If-None-Match /
    If-Modified-Since. ``clock`` stamps the capture (simulations and tests pass their own).
    """
    policy = policy or FetchPolicy()
    fetched_at = clock()
    deadline = time.monotonic() + policy.total_timeout
    headers = {"User-Agent": policy.user_agent}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    attempt = 0
    while True:
        attempt += 1
        try:
            if policy.obey_robots:  # cached once read; retried with the page while it cannot be read
                robots.check_allowed(client, url, policy.user_agent, _timeout(policy, deadline))
            return _attempt(client, url, headers, policy, deadline, fetched_at)
        except (_Transient, robots.RobotsUnreadable) as failure:
            wait, why = retry_delay(
                policy.retry, attempt, remaining=deadline - time.monotonic(), retry_after=failure.retry_after
            )
            if wait is None:
                error = HTTPStatusError if failure.status else FetchError
                raise error(url, f"{failure.reason} (transient; {why})", status=failure.status) from None
            time.sleep(wait)


def _timeout(policy: FetchPolicy, deadline: float) -> httpx.Timeout:
    """The request timeouts, never past what is left of the total time limit."""
    remaining = max(0.001, deadline - time.monotonic())
    return httpx.Timeout(min(policy.timeout, remaining), connect=min(policy.connect_timeout, remaining))


def _attempt(client, url, headers, policy: FetchPolicy, deadline: float, fetched_at: datetime) -> FetchResult:
    timeout = _timeout(policy, deadline)
    started = time.perf_counter()
    try:
        with client.stream("GET", url, headers=headers, timeout=timeout) as response:
            redirects = tuple(str(r.url) for r in response.history)
            _check_response(url, response)
            body = b"" if response.status_code == 304 else _read_body(url, response, policy, deadline)
            final_url = str(response.url)
    except httpx.TooManyRedirects:
        raise FetchError(url, f"more than {policy.max_redirects} redirects (a redirect loop?); not retried") from None
    except httpx.TimeoutException as exc:
        raise _Transient(f"timed out ({type(exc).__name__})") from None
    except httpx.DecodingError as exc:
        raise FetchError(url, f"body could not be decoded (invalid content encoding: {redact(str(exc))}); "
                              "not retried") from None
    except httpx.HTTPError as exc:
        raise _Transient(f"request failed: {type(exc).__name__}: {redact(str(exc))}") from None
    return FetchResult(
        url=url,
        final_url=final_url,
        status=response.status_code,
        headers={k: response.headers[k] for k in KEPT_HEADERS if k in response.headers},
        body=body,
        fetched_at=fetched_at,
        duration_ms=round((time.perf_counter() - started) * 1000, 1),
        redirects=redirects,
    )


def _check_response(url: str, response: httpx.Response) -> None:
    """Raise unless the status says there is a page to read.

    Where a 2xx lands (a soft-404 redirect) and what it holds (a PDF, a block page) are judged after
    the body is read, by schedules.guard, so that such a capture is kept as evidence of an anomaly.
    """
    status = response.status_code
    if status == 304:
        return
    if not 200 <= status < 300:
        reason = f"HTTP {status} {response.reason_phrase}"
        if is_transient(status):
            raise _Transient(reason, status, retry_after_seconds(response.headers.get("retry-after")))
        raise HTTPStatusError(url, f"{reason} (permanent, not retried)", status=status)


def _read_body(url: str, response: httpx.Response, policy: FetchPolicy, deadline: float) -> bytes:
    """Stream the (decoded) body, stopping as soon as it passes the size limit or the deadline."""
    limit = policy.max_body_size
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit and "content-encoding" not in response.headers:
        raise TooLarge(url, f"body of {int(declared)} bytes is over the {limit}-byte limit; not downloaded",
                       status=response.status_code)
    body = bytearray()
    for chunk in response.iter_bytes():
        body += chunk
        if len(body) > limit:
            raise TooLarge(url, f"body is over the {limit}-byte limit; download stopped", status=response.status_code)
        if time.monotonic() > deadline:
            raise FetchError(url, f"download not finished within the {policy.total_timeout:g}s total time limit; "
                                  "not retried", status=response.status_code)
    return bytes(body)
