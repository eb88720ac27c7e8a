"""The anomaly guard's one decision function, on hand-built plain values."""

from datetime import UTC, datetime

import pytest

from schedules.guard import judge
from scraper.model import FetchResult, Page, Publication
from storage.archive import CurrentState, Outcome, content_hash, keys_digest

URL = "https://cops.usdoj.gov/buildingtrust"
NOTHING = CurrentState(None, None, None)


def response(body=b"<html><body>page</body></html>", *, url=URL, final_url=None, content_type="text/html",
             redirects=()):
    return FetchResult(url=url, final_url=final_url or url, status=200,
                       headers={"content-type": content_type} if content_type else {}, body=body,
                       fetched_at=datetime(2026, 11, 24, tzinfo=UTC), duration_ms=1.0, redirects=redirects)


def page(n=9, *, title="Building Trust | COPS OFFICE", heading="Building Trust", first=1):
    pubs = tuple(Publication(f"cops-p{i}", f"Title {i}", f"https://x/cops-p{i}.pdf", f"About {i}", i - first + 1)
                 for i in range(first, first + n))
    return Page(url=URL, title=title, heading=heading, intro="", publications=pubs)


def state(p: Page, pending=None):
    return CurrentState(frozenset(x.key for x in p.publications), content_hash(p), pending)


def test_first_changed_unchanged():
    assert judge(response(), page(), NOTHING).outcome is Outcome.FIRST
    assert judge(response(), page(), state(page())).outcome is Outcome.UNCHANGED
    assert judge(response(), page(10), state(page())).outcome is Outcome.CHANGED


@pytest.mark.parametrize("body, content_type", [
    (b"%PDF-1.7\n...", "text/html"),  # bytes say PDF whatever the header says
    (b"<html><body>x</body></html>", "application/pdf"),
    (b"\x89PNG\r\n\x1a\n", None),
    (b"PK\x03\x04rest", "application/octet-stream"),
    (b"   ", "text/html"),
])
def test_non_html_is_an_anomaly(body, content_type):
    verdict = judge(response(body, content_type=content_type), page(), state(page()))
    assert verdict.outcome is Outcome.ANOMALY and verdict.anomaly == "not-html"


@pytest.mark.parametrize("body", [
    b"<!DOCTYPE html><html><body>x</body></html>",
    b"\xef\xbb\xbf\n  <!-- CMS --> <html lang='en'><body>x</body></html>",
    b"<HTML>\n<HEAD><TITLE>x</TITLE></HEAD>",
])
def test_html_served_as_an_unknown_type_is_read_as_html(body):
    verdict = judge(response(body, content_type="application/octet-stream"), page(), state(page()))
    assert verdict.outcome is Outcome.UNCHANGED


def test_unparseable_body_is_an_anomaly_with_the_parsers_reason():
    verdict = judge(response(), None, NOTHING, parse_error="body is not decodable text")
    assert verdict.anomaly == "not-html" and "not decodable" in verdict.reason


@pytest.mark.parametrize("final_url", [
    "https://cops.usdoj.gov/", "https://cops.usdoj.gov/404", "https://www.justice.gov/buildingtrust",
    "https://cops.usdoj.gov/login?return=/buildingtrust",
])
def test_redirect_elsewhere_is_an_anomaly(final_url):
    verdict = judge(response(final_url=final_url, redirects=(URL,)), page(), state(page()))
    assert verdict.anomaly == "redirected" and final_url in verdict.reason


@pytest.mark.parametrize("final_url", [
    "https://cops.usdoj.gov/buildingtrust/", "https://www.cops.usdoj.gov/buildingtrust",
    "https://cops.usdoj.gov/BuildingTrust", "https://cops.usdoj.gov/buildingtrust/index.html",
])
def test_benign_redirects_are_not_anomalies(final_url):
    http = response(url="http://cops.usdoj.gov/buildingtrust", final_url=final_url,
                    redirects=("http://cops.usdoj.gov/buildingtrust",))
    assert judge(http, page(), state(page())).outcome is Outcome.UNCHANGED


@pytest.mark.parametrize("title, heading", [
    ("Page Not Found | COPS OFFICE", "Building Trust"),
    ("COPS OFFICE", "Access Denied"),
    ("Request Rejected", ""),
    ("Error 503 Service Unavailable", ""),
    ("Site under maintenance", ""),
])
def test_error_titles_are_anomalies(title, heading):
    verdict = judge(response(), page(title=title, heading=heading), state(page()))
    assert verdict.anomaly == "error-page"


@pytest.mark.parametrize("title", ["Just a moment...", "Attention Required! | Cloudflare", "Pardon Our Interruption"])
def test_challenge_titles_are_bot_challenges(title):
    assert judge(response(), page(title=title), state(page())).anomaly == "bot-challenge"


@pytest.mark.parametrize("mark", [
    b'<script src="/cdn-cgi/challenge-platform/h/b/orchestrate/chl_page/v1"></script>',
    b'<form id="challenge-form" action="/?__cf_chl_tk=abc">',
    b"Reference #18.4f2b1cb8.1700000000.2a0b3c4d",
    b'<iframe src="/_Incapsula_Resource?SWUDNSAI=31"></iframe>',
    b"The requested URL was rejected. Please consult with your administrator. Your support ID is: 123",
])
def test_bot_interstitial_marks_are_anomalies(mark):
    verdict = judge(response(b"<html><body>" + mark + b"</body></html>"), page(), state(page()))
    assert verdict.anomaly == "bot-challenge"


def test_a_recaptcha_form_on_the_real_page_is_not_a_block():
    body = b'<html><body><div class="g-recaptcha" data-sitekey="x"></div></body></html>'
    assert judge(response(body), page(), state(page())).outcome is Outcome.UNCHANGED


def test_zero_publications_is_an_anomaly_even_first():
    assert judge(response(), page(0), NOTHING).anomaly == "no-publications"
    assert judge(response(), page(0), state(page())).anomaly == "no-publications"


def test_large_removal_threshold():
    current = state(page(9))
    assert judge(response(), page(5), current).outcome is Outcome.CHANGED  # 4 of 9 gone: not more than half
    verdict = judge(response(), page(4), current)  # 5 of 9 gone
    assert verdict.anomaly == "large-removal" and "5 of the 9" in verdict.reason
    assert judge(response(), page(4), current, removal_threshold=0.6).outcome is Outcome.CHANGED
    assert judge(response(), page(8), current, removal_threshold=0.1).anomaly == "large-removal"


def test_a_later_check_listing_the_same_confirms_a_large_removal():
    cut = page(3)
    pending = keys_digest(p.key for p in cut.publications)
    assert judge(response(), cut, state(page(9), pending=pending)).outcome is Outcome.CHANGED
    other = page(3, first=4)  # a different short listing does not confirm it
    assert judge(response(), other, state(page(9), pending=pending)).anomaly == "large-removal"


def test_a_good_page_between_cancels_a_pending_removal(db):
    from datetime import timedelta

    from storage.archive import LARGE_REMOVAL

    full, cut = page(9), page(3)
    moment = datetime(2026, 11, 24, tzinfo=UTC)
    body = response().body
    first = response(b"<html>full</html>")
    db.record_page("t", first, full, "2")
    db.record_failure("t", URL, moment + timedelta(days=1), "large-removal: …", fetch=response(body),
                      outcome=Outcome.ANOMALY, anomaly=LARGE_REMOVAL,
                      keys_sha256=keys_digest(p.key for p in cut.publications))
    assert db.current_state("t").pending_removal == keys_digest(p.key for p in cut.publications)
    db.record_same_body("t", first, "2")  # the full page is back, byte for byte
    assert db.current_state("t").pending_removal is None
    assert judge(response(), cut, db.current_state("t")).anomaly == LARGE_REMOVAL
