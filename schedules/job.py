"""One check of one target: fetch → parse → record → diff → notify, in that order, nothing reaching back.

A body byte-identical to the last good capture (under the same parser version) is recorded as
unchanged without being parsed: the parser is not even imported on that path.
``check_and_notify`` adds the alerts: the check enqueues its events' deliveries in its own
transaction, then every pending delivery (this night's and earlier failures) is sent.
"""

import time
from collections.abc import Callable
from datetime import datetime

import httpx

from scraper import PARSER_VERSION
from scraper.errors import FetchError, ParseError
from scraper.fetch import fetch, utcnow
from storage.archive import Archive, CheckResult, sha256
from storage.outbox import Subscription


def run_check(
    archive: Archive, client: httpx.Client, target: str, url: str, *, clock: Callable[[], datetime] = utcnow,
    alerts: tuple[Subscription, ...] = (), alert_on_first: bool = False,
) -> CheckResult:
    started_at = clock()
    started = time.perf_counter()  # not the clock: a simulated clock says nothing about duration
    try:
        response = fetch(client, url, clock=clock)
    except FetchError as exc:
        elapsed = round((time.perf_counter() - started) * 1000, 1)
        return archive.record_failure(target, url, started_at, exc.reason, status=exc.status, duration_ms=elapsed)

    if archive.last_good_body(target) == (sha256(response.body), PARSER_VERSION):
        return archive.record_same_body(target, response, PARSER_VERSION)
    from scraper.parse import parse  # lxml and bs4 are only imported when there is something to parse

    try:
        page = parse(response.body, response.final_url, response.headers.get("content-type"))
    except ParseError as exc:
        return archive.record_failure(
            target, url, response.fetched_at, exc.reason, fetch=response, parser_version=PARSER_VERSION
        )
    return archive.record_page(target, response, page, PARSER_VERSION, alerts=alerts, alert_on_first=alert_on_first)


def check_and_notify(
    archive: Archive, client: httpx.Client, target: str, url: str, *, channels=(), operator_channels=(),
    alert_on_first: bool = False, failure_streak: int = 3, feed: str | None = None,
    clock: Callable[[], datetime] = utcnow,
):
    """Check, then deliver: returns the CheckResult and the delivery attempts (``notify.deliver.Attempt``).

    The check enqueues its publication events' deliveries in its own transaction; only a recorded
    version has such events, so a failed or anomalous check never enqueues a publication alert.
    """
    result = run_check(archive, client, target, url, clock=clock,
                       alerts=tuple(c.subscription for c in channels), alert_on_first=alert_on_first)
    attempts = after_check(archive, result, channels=channels, operator_channels=operator_channels,
                           failure_streak=failure_streak, feed=feed)
    return result, attempts


def after_check(archive: Archive, result: CheckResult, *, channels=(), operator_channels=(),
                failure_streak: int = 3, feed: str | None = None):
    """Enqueue the operator alert the check calls for (if any), deliver everything pending, write the feed."""
    from notify.deliver import deliver_pending
    from storage import outbox

    if operator_channels:
        kind = outbox.operator_alert(archive.conn, result.target, result.check_id, failure_streak)
        if kind:
            outbox.enqueue_operator(archive, result.target, result.check_id, kind,
                                    [c.subscription for c in operator_channels])
    attempts = deliver_pending(archive, [*channels, *operator_channels])
    if feed:
        from notify import feed as atom

        atom.write(feed, atom.atom(outbox.feed_events(archive), link=result.url))
    return attempts
