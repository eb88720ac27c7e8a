"""The anomaly guard: one pure function decides a check's outcome from plain values.

The archive's current state must change only on a believable page. ``judge`` looks at the response
(``FetchResult``), the parsed page (or the parser's complaint) and the target's current state from
storage, and returns the outcome with a reason. Rules, in the order they are tried:

- ``not-html``: the response is not an HTML page (a PDF, image, archive or other binary served as the
  page: by content-type or by its first bytes), or its body is not decodable text;
- ``redirected``: redirects landed somewhere other than the page (another host or path: the site's home
  page, a login or error page). http→https, a ``www.`` prefix, a trailing slash, letter case and a
  trailing ``index.html``/``default.aspx`` are benign;
- ``bot-challenge``: the title or first heading says it is a challenge ("Just a moment…", "Attention
  required", "Are you a robot", a captcha), or the body carries the marks of a bot-protection
  interstitial (Cloudflare
  "Just a moment…"/``cf-chl``, Akamai "Reference #", Incapsula, F5 "support ID", PerimeterX,
  DataDome and Distil captchas). A captcha widget on a page that still reads as the page (a feedback
  form's reCAPTCHA) is not a block, so generic captcha scripts are not marks;
- ``error-page``: a 200 page whose title or first heading says it is an error or a block ("page not
  found", "access denied", "request rejected", "service unavailable", "under maintenance"…);
- ``no-publications``: the page lists no publications (maintenance page, empty body);
- ``large-removal``: more than ``removal_threshold`` (default 0.5) of the current version's publications
  are gone at once (e.g. a body cut short). The next parsed check that lists exactly the same
  publications confirms it: that check is believable and recorded as a real change.

Web archivists score captures like this before trusting them. Reads no configuration itself: the
threshold comes from the caller (``removal_threshold``, env ``COPSWATCH_REMOVAL_THRESHOLD``, ``run
--removal-threshold``).
"""

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from scraper.model import FetchResult, Page
from storage.archive import LARGE_REMOVAL, TRUNCATED, CurrentState, Outcome, content_hash, keys_digest

DEFAULT_REMOVAL_THRESHOLD = 0.5

# A body cut short loses the entries at its end, and its closing tags with them.
CLOSED = re.compile(rb"</(body|html)\s*>", re.IGNORECASE)
HTML_TYPES = ("text/html", "application/xhtml+xml", "text/plain", "application/xml", "text/xml")
# Types a misconfigured server sends for anything (Python's http.server for a file without an
# extension): as browsers do (WHATWG MIME sniffing), bytes that plainly open an HTML document count.
UNKNOWN_TYPES = ("application/octet-stream", "binary/octet-stream", "application/unknown", "unknown/unknown",
                 "application/x-unknown-content-type")
HTML_START = re.compile(rb"^(\xef\xbb\xbf)?\s*(<!--.*?-->\s*)*<(!doctype\s+html|html|head|body)[\s>]",
                        re.IGNORECASE | re.DOTALL)
BINARY_MAGIC = (
    (b"%PDF-", "a PDF"),
    (b"\x89PNG", "a PNG image"),
    (b"GIF8", "a GIF image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"PK\x03\x04", "a ZIP archive (or Office document)"),
    (b"\x1f\x8b", "gzip-compressed data"),
    (b"\xd0\xcf\x11\xe0", "an old Office document"),
)
ERROR_TITLE = re.compile(
    r"\b(page not found|not found|404|error \d{3}|\d{3} error|http error|access denied|"
    r"access to this page has been denied|"
    r"forbidden|request rejected|unauthori[sz]ed|error has occurred|server error|service unavailable|"
    r"temporarily unavailable|bad gateway|gateway time-?out|under maintenance|site maintenance|"
    r"down for maintenance|scheduled maintenance|website is offline)\b",
    re.IGNORECASE,
)
BOT_TITLE = re.compile(
    r"\b(just a moment|attention required|security check|are you a (robot|human)|verify you are (a )?human|"
    r"pardon our interruption|checking your browser|captcha)\b",
    re.IGNORECASE,
)
BOT_MARKS = re.compile(
    rb"cf-chl|cf_chl_|/cdn-cgi/challenge-platform|<title>\s*just a moment|cf-browser-verification|"
    rb"_incapsula_resource|incapsula incident id|"
    rb"reference&#32;&#35;\d|reference #\d+\.[0-9a-f]+\.\d+|"
    rb"your support id is|the requested url was rejected|"
    rb"px-captcha|_pxcaptcha|captcha-delivery\.com|distil_r_captcha",
    re.IGNORECASE,
)
BENIGN_TAIL = re.compile(r"/(index\.html?|index\.php|default\.aspx?)$", re.IGNORECASE)


@dataclass(frozen=True)
class Verdict:
    outcome: Outcome
    reason: str | None = None
    anomaly: str | None = None  # the rule that made it an anomaly

    @classmethod
    def reject(cls, rule: str, reason: str) -> "Verdict":
        return cls(Outcome.ANOMALY, f"{rule}: {reason}", rule)


def judge(
    fetch: FetchResult,
    page: Page | None,
    current: CurrentState,
    *,
    parse_error: str | None = None,
    removal_threshold: float = DEFAULT_REMOVAL_THRESHOLD,
) -> Verdict:
    """The outcome of a check that got a response: anomaly, or first / changed / unchanged."""
    not_html = _not_html(fetch)
    if not_html:
        return Verdict.reject("not-html", not_html)
    if page is None:
        return Verdict.reject("not-html", parse_error or "the body could not be read as HTML")
    elsewhere = _landed_elsewhere(fetch)
    if elsewhere:
        return Verdict.reject("redirected", elsewhere)
    mark = BOT_MARKS.search(fetch.body)
    if mark:
        found = mark.group(0).decode("latin-1")
        return Verdict.reject("bot-challenge", f"a bot-protection interstitial ({found!r} in the body)")
    for rule, pattern in (("bot-challenge", BOT_TITLE), ("error-page", ERROR_TITLE)):
        for label, text in (("title", page.title), ("heading", page.heading)):
            match = pattern.search(text)
            if match:
                return Verdict.reject(rule, f"the page's {label} says {match.group(0)!r} ({text[:80]!r})")
    if not page.publications:
        return Verdict.reject("no-publications", "the page lists no publications")

    keys = frozenset(p.key for p in page.publications)
    if current.keys:
        gone = current.keys - keys
        confirmed = current.pending_removal == keys_digest(keys)
        if gone and not confirmed and len(gone) > removal_threshold * len(current.keys):
            return Verdict.reject(
                LARGE_REMOVAL,
                f"{len(gone)} of the {len(current.keys)} current publications are gone at once "
                f"(more than {removal_threshold:.0%}); a later check listing the same confirms it",
            )
        if gone and not confirmed and not CLOSED.search(fetch.body[-4096:]):
            return Verdict.reject(
                TRUNCATED,
                f"{len(gone)} of the {len(current.keys)} current publications are gone and the body ends "
                "before the document does (no closing </body> or </html>): cut short?; a later check "
                "listing the same confirms it",
            )
    if current.keys is None:
        return Verdict(Outcome.FIRST)
    if content_hash(page) == current.content_sha256:
        return Verdict(Outcome.UNCHANGED)
    return Verdict(Outcome.CHANGED)


def _not_html(fetch: FetchResult) -> str | None:
    head = fetch.body[:16].lstrip()
    for magic, what in BINARY_MAGIC:
        if head.startswith(magic):
            return f"the body is {what}, not an HTML page"
    media = (fetch.headers.get("content-type") or "").split(";")[0].strip().lower()
    sniffed_html = media in UNKNOWN_TYPES and HTML_START.match(fetch.body[:1024])
    if media and not media.startswith(HTML_TYPES) and not sniffed_html:
        return f"served as {media}, not HTML"
    if not fetch.body.strip():
        return "the body is empty"
    return None


def _where(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    host = (parts.hostname or "").lower().removeprefix("www.")
    path = BENIGN_TAIL.sub("", parts.path).rstrip("/").lower()
    return host, path or "/"


def _landed_elsewhere(fetch: FetchResult) -> str | None:
    if not fetch.redirects or _where(fetch.final_url) == _where(fetch.url):
        return None
    return f"redirected from {fetch.url} to {fetch.final_url}, not the page"
