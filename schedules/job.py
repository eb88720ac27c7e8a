"""One check of one target: fetch → parse → record → diff, in that order, nothing reaching back.

A body byte-identical to the last good capture (under the same parser version) is recorded as
unchanged without being parsed: the parser is not even imported on that path.
"""

import time
from collections.abc import Callable
from datetime import datetime

import httpx

from scraper import PARSER_VERSION
from scraper.errors import FetchError, ParseError
from scraper.fetch import fetch, utcnow
from storage.archive import Archive, CheckResult, sha256


def run_check(
    archive: Archive, client: httpx.Client, target: str, url: str, *, clock: Callable[[], datetime] = utcnow
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
    return archive.record_page(target, response, page, PARSER_VERSION)
