"""One check of one target: fetch → parse → judge → record → diff, in that order, nothing reaching back.

A body byte-identical to the last good capture (under the same parser version) is recorded as
unchanged without being parsed: the parser is not even imported on that path. Every other body is
parsed and judged by ``schedules.guard.judge``; a page that is not believable is recorded as an
anomaly (raw body kept, current version untouched, no events).
"""

from collections.abc import Callable, Mapping
from datetime import datetime

import httpx

from schedules.guard import DEFAULT_REMOVAL_THRESHOLD, Verdict, judge
from scraper import PARSER_VERSION
from scraper.errors import FetchError, ParseError
from scraper.fetch import fetch, utcnow
from scraper.model import FetchResult, Page
from storage.archive import Archive, CheckResult, CurrentState, Outcome, keys_digest, sha256


def run_check(
    archive: Archive, client: httpx.Client, target: str, url: str, *, clock: Callable[[], datetime] = utcnow,
    selectors: Mapping[str, str] | None = None, removal_threshold: float = DEFAULT_REMOVAL_THRESHOLD,
) -> CheckResult:
    started_at = clock()
    try:
        response = fetch(client, url, clock=clock)
    except FetchError as exc:
        elapsed = (utcnow() - started_at).total_seconds() * 1000
        return archive.record_failure(target, url, started_at, exc.reason, status=exc.status, duration_ms=elapsed)

    if archive.last_good_body(target) == (sha256(response.body), PARSER_VERSION):
        return archive.record_same_body(target, response, PARSER_VERSION)
    page, verdict = assess(response, archive.current_state(target), selectors=selectors,
                           removal_threshold=removal_threshold)
    if verdict.outcome is Outcome.ANOMALY:
        return archive.record_failure(
            target, url, response.fetched_at, verdict.reason, fetch=response, parser_version=PARSER_VERSION,
            outcome=Outcome.ANOMALY, anomaly=verdict.anomaly,
            keys_sha256=keys_digest(p.key for p in page.publications) if page else None,
        )
    return archive.record_page(target, response, page, PARSER_VERSION)


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
