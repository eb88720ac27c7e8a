"""scraper.retry: the retry decision, with inputs built by hand."""

import random
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

from scraper.retry import RetryPolicy, is_transient, retry_after_seconds, retry_delay

POLICY = RetryPolicy(attempts=4, backoff_base=1.0, backoff_cap=3.0, retry_after_cap=10.0)


def test_transient_and_permanent_statuses():
    assert all(is_transient(s) for s in (429, 500, 502, 503, 504))
    assert not any(is_transient(s) for s in (400, 403, 404, 410, 418))


def test_backoff_grows_exponentially_with_jitter_and_is_capped():
    rng = random.Random(7)
    for attempt, ceiling in ((1, 1.0), (2, 2.0), (3, 3.0)):  # 4.0 capped at 3.0
        waits = [retry_delay(POLICY, attempt, remaining=100, rng=rng)[0] for _ in range(200)]
        assert all(0 <= w <= ceiling for w in waits)
        assert max(waits) > ceiling * 0.8 and len(set(waits)) > 100  # jittered, spread over the range


def test_gives_up_after_the_last_attempt():
    wait, why = retry_delay(POLICY, 4, remaining=100)
    assert wait is None and why == "gave up after 4 attempts"


def test_retry_after_replaces_backoff_up_to_the_cap():
    assert retry_delay(POLICY, 1, remaining=100, retry_after=7.0) == (7.0, "")
    wait, why = retry_delay(POLICY, 1, remaining=100, retry_after=11.0)
    assert wait is None and "beyond the 10s cap" in why


def test_no_retry_past_the_deadline():
    wait, why = retry_delay(POLICY, 1, remaining=2.0, retry_after=5.0)
    assert wait is None and "deadline" in why


def test_retry_after_parses_seconds_and_http_dates():
    now = datetime(2026, 11, 24, 6, 0, tzinfo=UTC)
    assert retry_after_seconds("120") == 120.0
    assert retry_after_seconds(format_datetime(now + timedelta(seconds=90), usegmt=True), now) == 90.0
    assert retry_after_seconds(format_datetime(now - timedelta(hours=1), usegmt=True), now) == 0.0
    assert retry_after_seconds("soon") is None and retry_after_seconds(None) is None
