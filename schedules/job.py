"""One check of one target: fetch → parse → judge → record → diff → notify, in that order, nothing reaching back.

The fetch is conditional on the last good capture's validators; a 304 is recorded as unchanged
without a body. A body byte-identical to the last good capture (under the same parser version) is
recorded as unchanged without being parsed: the parser is not even imported on that path. Every
other body is parsed and judged by ``schedules.guard.judge``; a page that is not believable is
recorded as an anomaly (raw body kept, current version untouched, no events, so no publication alert).
``check_and_notify`` adds the alerts: the check enqueues its events' deliveries in its own
transaction, then every pending delivery (this night's and earlier failures) is sent.
"""

import json
import time
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING

import httpx

from schedules.guard import DEFAULT_REMOVAL_THRESHOLD, Verdict, judge
from scraper import PARSER_VERSION
from scraper.errors import FetchError, ParseError
from scraper.fetch import USER_AGENT, FetchPolicy, fetch, make_client, utcnow
from scraper.model import FetchResult, Page
from scraper.retry import RetryPolicy
from storage.archive import Archive, CheckResult, CurrentState, Outcome, keys_digest, sha256

if TYPE_CHECKING:
    from storage.outbox import Subscription


def fetch_policy(config) -> FetchPolicy:
    """The fetch settings of a copswatch.config.Config, as the scraper takes them."""
    return FetchPolicy(
        user_agent=config.user_agent or USER_AGENT, timeout=config.timeout, connect_timeout=config.connect_timeout,
        total_timeout=config.total_timeout, max_body_size=config.max_body_size, max_redirects=config.max_redirects,
        obey_robots=not config.ignore_robots,
        retry=RetryPolicy(attempts=config.retries + 1, backoff_base=config.backoff_base,
                          backoff_cap=config.backoff_cap, retry_after_cap=config.retry_after_cap),
    )


def client_for(policy: FetchPolicy) -> httpx.Client:
    return make_client(user_agent=policy.user_agent, timeout=policy.timeout,
                       connect_timeout=policy.connect_timeout, max_redirects=policy.max_redirects)


def run_check(
    archive: Archive, client: httpx.Client, target: str, url: str, *,
    clock: Callable[[], datetime] = utcnow, policy: FetchPolicy | None = None,
    selectors: Mapping[str, str] | None = None, removal_threshold: float = DEFAULT_REMOVAL_THRESHOLD,
    alerts: tuple["Subscription", ...] = (), alert_on_first: bool = False,
) -> CheckResult:
    started_at = clock()
    started = time.perf_counter()  # not the clock: a simulated clock says nothing about duration
    version = parser_version(selectors)
    etag, last_modified = archive.validators(target, version)
    try:
        response = fetch(client, url, clock=clock, policy=policy, etag=etag, last_modified=last_modified)
    except FetchError as exc:
        elapsed = round((time.perf_counter() - started) * 1000, 1)
        return archive.record_failure(target, url, started_at, exc.reason, status=exc.status, duration_ms=elapsed)

    if response.status == 304:
        return archive.record_not_modified(target, response, version)
    same = (sha256(response.body), version, response.final_url, response.headers.get("content-type"))
    if archive.last_good_body(target) == same:
        return archive.record_same_body(target, response, version)
    page, verdict = assess(response, archive.current_state(target), selectors=selectors,
                           removal_threshold=removal_threshold)
    if verdict.outcome is Outcome.ANOMALY:
        return archive.record_failure(
            target, url, response.fetched_at, verdict.reason, fetch=response, parser_version=version,
            outcome=Outcome.ANOMALY, anomaly=verdict.anomaly,
            keys_sha256=keys_digest(p.key for p in page.publications) if page else None,
        )
    return archive.record_page(target, response, page, version, alerts=alerts, alert_on_first=alert_on_first)


def parser_version(selectors: Mapping[str, str] | None = None) -> str:
    """The parser's version, qualified by the CSS selectors that override its heuristics.

    Either changing means the same bytes may read differently, so neither the same-bytes shortcut
    nor a conditional request may be trusted across the change.
    """
    if not selectors:
        return PARSER_VERSION
    return f"{PARSER_VERSION}+css.{sha256(json.dumps(dict(selectors), sort_keys=True).encode())[:8]}"


def assess(
    response: FetchResult, current: CurrentState, *, selectors: Mapping[str, str] | None = None,
    removal_threshold: float = DEFAULT_REMOVAL_THRESHOLD, parsed: dict | None = None,
) -> tuple[Page | None, Verdict]:
    """Parse a response and judge it against the target's current state (also used by ``reparse``).

    ``parsed`` memoises parses across calls (``reparse`` meets the same body night after night).
    """
    from scraper.parse import parse  # lxml and bs4 are only imported when there is something to parse

    content_type = response.headers.get("content-type")
    key = (sha256(response.body), response.final_url, content_type)
    result = parsed.get(key) if parsed is not None else None
    if result is None:
        try:
            result = parse(response.body, response.final_url, content_type, selectors=selectors), None
        except ParseError as exc:
            result = None, exc.reason
        if parsed is not None:
            parsed[key] = result
    page, error = result
    return page, judge(response, page, current, parse_error=error, removal_threshold=removal_threshold)


def check_and_notify(
    archive: Archive, client: httpx.Client, target: str, url: str, *, channels=(), operator_channels=(),
    alert_on_first: bool = False, failure_streak: int = 3, feed: str | None = None,
    clock: Callable[[], datetime] = utcnow, policy: FetchPolicy | None = None,
    selectors: Mapping[str, str] | None = None, removal_threshold: float = DEFAULT_REMOVAL_THRESHOLD,
):
    """Check, then deliver: returns the CheckResult and the delivery attempts (``notify.deliver.Attempt``).

    The check enqueues its publication events' deliveries in its own transaction; only a recorded
    version has such events, so a failed or anomalous check never enqueues a publication alert.
    """
    result = run_check(archive, client, target, url, clock=clock, policy=policy, selectors=selectors,
                       removal_threshold=removal_threshold,
                       alerts=tuple(c.subscription for c in channels), alert_on_first=alert_on_first)
    attempts = after_check(archive, result, channels=channels, operator_channels=operator_channels,
                           failure_streak=failure_streak, feed=feed)
    return result, attempts


def after_check(archive: Archive, result: CheckResult, *, channels=(), operator_channels=(),
                failure_streak: int = 3, feed: str | None = None):
    """Enqueue the operator alert the check calls for (if any), deliver everything pending, write the feed."""
    if not (channels or operator_channels or feed):
        return []  # pending rows are only ever sent to their configured channels
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
