"""robots.txt: fetched once per site, cached, and obeyed for our User-Agent (RFC 9309).

The cache lives in the process, keyed by scheme and host, for ``ROBOTS_TTL`` (24 hours, the
longest RFC 9309 §2.4 recommends). A nightly `copswatch run` is a fresh process, so it reads
robots.txt once per run; the long-running scheduler rereads it daily. No table in the archive:
robots.txt is a rule for the crawler, not evidence about the page.

As RFC 9309 §2.3.1 says: a 4xx answer means no rules (everything allowed); a 5xx answer or a
network error means "assume complete disallow": ``RobotsUnreadable``, which the fetch retries like
any transient failure before the check fails. The failure is not cached, so the next run asks again.
"""

import time
import urllib.robotparser
from urllib.parse import urlsplit

import httpx

from scraper.errors import FetchError, RobotsDisallowed
from scraper.retry import retry_after_seconds

ROBOTS_TTL = 24 * 3600.0
MAX_ROBOTS_BYTES = 500 * 1024  # RFC 9309 §2.5: parse at least 500 KiB

_cache: dict[str, tuple[float, urllib.robotparser.RobotFileParser]] = {}


class RobotsUnreadable(FetchError):
    """robots.txt answered 5xx or could not be fetched: transient, so the fetch retries."""

    def __init__(self, url: str, message: str, *, status: int | None = None, retry_after: float | None = None):
        super().__init__(url, message, status=status)
        self.retry_after = retry_after


def check_allowed(client: httpx.Client, url: str, user_agent: str, timeout: httpx.Timeout | None = None) -> None:
    """Raise RobotsDisallowed if the site's robots.txt forbids ``url`` to ``user_agent``."""
    rules = _rules(client, url, timeout)
    if not rules.can_fetch(user_agent, url):
        raise RobotsDisallowed(
            url, "robots.txt disallows this URL for our User-Agent (set ignore_robots = true to override)"
        )


def _rules(client: httpx.Client, url: str, timeout: httpx.Timeout | None) -> urllib.robotparser.RobotFileParser:
    parts = urlsplit(url)
    site = f"{parts.scheme}://{parts.netloc}"
    cached = _cache.get(site)
    if cached and time.monotonic() - cached[0] < ROBOTS_TTL:
        return cached[1]
    robots_url = f"{site}/robots.txt"
    rules = urllib.robotparser.RobotFileParser(robots_url)
    try:
        with client.stream("GET", robots_url, **({"timeout": timeout} if timeout else {})) as response:
            if response.status_code >= 500:
                raise RobotsUnreadable(url, f"robots.txt answered HTTP {response.status_code}; "
                                            "not fetching until it can be read (RFC 9309)",
                                       status=response.status_code,
                                       retry_after=retry_after_seconds(response.headers.get("retry-after")))
            if response.status_code >= 400:
                rules.allow_all = True
            else:
                body = bytearray()
                for chunk in response.iter_bytes():
                    body += chunk
                    if len(body) >= MAX_ROBOTS_BYTES:
                        break
                rules.parse(bytes(body[:MAX_ROBOTS_BYTES]).decode("utf-8", "replace").splitlines())
    except httpx.HTTPError as exc:
        raise RobotsUnreadable(url, f"robots.txt could not be read ({type(exc).__name__}); "
                                    "not fetching until it can be (RFC 9309)") from None
    _cache[site] = (time.monotonic(), rules)
    return rules
