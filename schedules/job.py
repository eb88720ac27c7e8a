"""One check of one target: fetch → parse → record → diff, in that order, nothing reaching back.

The fetch is conditional on the last good capture's validators; a 304 is recorded as unchanged
without a body. A body byte-identical to the last good capture (under the same parser version) is
recorded as unchanged without being parsed: the parser is not even imported on that path.
"""

from collections.abc import Callable
from datetime import datetime

import httpx

from scraper import PARSER_VERSION
from scraper.errors import FetchError, ParseError
from scraper.fetch import FetchPolicy, fetch, utcnow
from storage.archive import Archive, CheckResult, sha256


def run_check(
    archive: Archive, client: httpx.Client, target: str, url: str, *,
    clock: Callable[[], datetime] = utcnow, policy: FetchPolicy | None = None,
) -> CheckResult:
    started_at = clock()
    etag, last_modified = archive.validators(target, PARSER_VERSION)
    try:
        response = fetch(client, url, clock=clock, policy=policy, etag=etag, last_modified=last_modified)
    except FetchError as exc:
        elapsed = (utcnow() - started_at).total_seconds() * 1000
        return archive.record_failure(target, url, started_at, exc.reason, status=exc.status, duration_ms=elapsed)

    if response.status == 304:
        return archive.record_not_modified(target, response, PARSER_VERSION)
    if archive.last_good_body(target) == (sha256(response.body), PARSER_VERSION):
        return archive.record_same_body(target, response, PARSER_VERSION)
    from scraper.parse import parse  # lxml and bs4 are only imported when there is something to parse

    try:
        page = parse(response.body, response.final_url, response.headers.get("content-type"))
    except ParseError as exc:
        return archive.record_failure(
            target, url, response.fetched_at, exc.reason, fetch=response, parser_version=PARSER_VERSION
        )
    return archive.record_page(target, response, page, PARSER_VERSION)
