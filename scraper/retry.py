"""When to try a failed request again, and how long to wait first: one plain decision function.

Transient failures (connection errors, timeouts, truncated bodies, HTTP 408/429/500/502/503/504) are
retried with exponential backoff and full jitter (AWS architecture blog, "Exponential Backoff and
Jitter"); a ``Retry-After`` header (RFC 9110 §10.2.3) replaces the backoff when the server sends one.
A server that asks for a longer wait than ``retry_after_cap`` is not retried sooner than it asked:
the check gives up instead. Nothing is retried once the next attempt would pass the total deadline.
Permanent failures (403, 404, 410, every other 4xx, redirect loops) are never retried.
"""

import random
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

TRANSIENT_STATUSES = frozenset({408, 429, 500, 502, 503, 504})


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 3  # total tries, the first included
    backoff_base: float = 1.0  # seconds; the n-th retry waits up to base * 2**(n-1)
    backoff_cap: float = 60.0  # seconds; no backoff wait is longer
    retry_after_cap: float = 120.0  # seconds; a longer Retry-After gives up instead of waiting


def is_transient(status: int) -> bool:
    return status in TRANSIENT_STATUSES


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds asked for by a Retry-After header (delta-seconds or an HTTP date); None if absent or bad."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def retry_delay(
    policy: RetryPolicy,
    attempt: int,
    *,
    remaining: float,
    retry_after: float | None = None,
    rng: random.Random | None = None,
) -> tuple[float | None, str]:
    """Seconds to wait before attempt ``attempt + 1`` of a transient failure, or None to give up.

    ``attempt`` counts the tries made so far (1 after the first); ``remaining`` is the time left
    before the total deadline. Returns the wait and, when giving up, why.
    """
    if attempt >= policy.attempts:
        return None, f"gave up after {attempt} attempt{'s' if attempt > 1 else ''}"
    if retry_after is not None:
        if retry_after > policy.retry_after_cap:
            return None, f"server asked to retry after {retry_after:g}s, beyond the {policy.retry_after_cap:g}s cap"
        wait = retry_after
    else:
        wait = (rng or random).uniform(0, min(policy.backoff_cap, policy.backoff_base * 2 ** (attempt - 1)))
    if wait >= remaining:
        return None, f"gave up after {attempt} attempt{'s' if attempt > 1 else ''}: no time left before the deadline"
    return wait, ""
