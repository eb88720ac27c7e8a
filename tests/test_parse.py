"""Parser tests as file pairs: every tests/fixtures/**/<case>.html has a <case>.json of what it must yield."""

import json
import os
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from scraper.errors import ParseError
from scraper.parse import _resolve, _urllib_resolve, decode, parse, publication_key

FIXTURES = Path(__file__).parent / "fixtures"
PAGE_URL = "https://cops.usdoj.gov/buildingtrust"
CASES = sorted(p for p in FIXTURES.rglob("*.html") if p.with_suffix(".json").exists())


@pytest.mark.parametrize("case", CASES, ids=[str(c.relative_to(FIXTURES)) for c in CASES])
def test_fixture_parses_to_expected(case):
    expected = json.loads(case.with_suffix(".json").read_text(encoding="utf-8"))
    page = parse(case.read_bytes(), PAGE_URL)
    got = [{"key": p.key, "title": p.title, "url": p.url, "description": p.description} for p in page.publications]
    assert got == expected["publications"]
    assert [p.position for p in page.publications] == list(range(1, len(got) + 1))
    if "spotlight" in expected:
        assert [{"url": s.url, "image": s.image, "title": s.title} for s in page.spotlight] == expected["spotlight"]
    for name in ("title", "heading"):
        if name in expected:
            assert getattr(page, name) == expected[name]


def test_there_are_fixture_pairs():
    assert len(CASES) >= 2


def test_newer_page_intro_and_text():
    page = parse((FIXTURES / "buildingtrust-newer.html").read_bytes(), PAGE_URL)
    assert page.intro.startswith("Building trust with the community is fundamental to effective policing.")
    assert page.intro.count("\n\n") == 1
    assert "Contact the Department" not in page.text  # footer is not content
    assert "Signup for Email Updates" not in page.text


@pytest.mark.parametrize(
    "url, key",
    [
        ("https://portal.cops.usdoj.gov/resourcecenter/content.ashx/cops-p247-pub.pdf", "cops-p247"),
        ("https://portal.cops.usdoj.gov/resourcecenter/ric/Publications/cops-p247-pub.pdf", "cops-p247"),
        ("https://cops.usdoj.gov/RIC/Publications/COPS-P273-pub.pdf", "cops-p273"),
        ("https://portal.cops.usdoj.gov/resourcecenter/Home.aspx?item=cops-r1134", "cops-r1134"),
        ("https://cops.usdoj.gov/resourcecenter?item=cops-w0488&utm_source=x", "cops-w0488"),
        ("HTTPS://COPS.usdoj.gov:443/culturesofintegrity/?utm_campaign=x#top", "https://cops.usdoj.gov/culturesofintegrity"),
    ],
)
def test_publication_key(url, key):
    assert publication_key(url) == key


def test_meta_charset_windows_1252_is_honoured():
    body = '<html><head><meta http-equiv="Content-Type" content="text/html; charset=windows-1252"></head>' \
           '<body>\u201cquoted\u201d \u2013 it\u2019s</body></html>'
    text, encoding = decode(body.encode("cp1252"))
    assert encoding == "cp1252"
    assert "\u201cquoted\u201d \u2013 it\u2019s" in text


def test_latin1_label_means_windows_1252():
    text, _ = decode(b"<p>\x93hi\x94</p>", "text/html; charset=ISO-8859-1")
    assert "\u201chi\u201d" in text


def test_http_header_charset_wins_over_meta():
    body = '<meta charset="windows-1252"><p>caf\u00e9</p>'.encode("utf-8")
    text, encoding = decode(body, "text/html; charset=utf-8")
    assert encoding == "utf-8" and "caf\u00e9" in text


@pytest.mark.parametrize("body", [b"", b"\x00\x01\x02binary\x00", b"%PDF-1.7\n\x00\x00\x00"])
def test_not_html_is_a_parse_error(body):
    with pytest.raises(ParseError):
        parse(body, PAGE_URL)


def test_link_mid_sentence_is_not_a_title():
    body = b"""<html><body><main><p>Read the <a href="/about">COPS Office</a> mission.</p>
    <ul><li><a href="/a-cops-p1.pdf">Alpha</a><br>First.</li><li><a href="/b-cops-p2.pdf">Beta</a><br>Second.</li></ul>
    </main></body></html>"""
    page = parse(body, PAGE_URL)
    assert [(p.title, p.description) for p in page.publications] == [("Alpha", "First."), ("Beta", "Second.")]


# The parser resolves plain hrefs without urllib (a third of a parse); it must agree with urllib on
# every href. Hrefs are drawn mostly from the characters the shortcut accepts, where it can go wrong.
@settings(max_examples=int(os.environ.get("COPSWATCH_FUZZ_EXAMPLES", 300)), deadline=None)
@given(
    base=st.sampled_from([PAGE_URL, PAGE_URL, "https://cops.usdoj.gov", "http://cops.usdoj.gov:8080/a/b?q=1",
                          "HTTPS://Cops.usdoj.gov/x/", "https://user@cops.usdoj.gov/", "https://cops.usdoj.gov?x"]),
    origin=st.sampled_from(["", "", "", "", "", "https://cops.usdoj.gov", "http://Portal.COPS.usdoj.gov", "HTTP://a.org",
                            "https://a.org:443", "ftp://a.org", "https://[::1", "https:"]),
    path=st.lists(st.sampled_from(["/", "/..", "/.", "..", ".", "a", "B", "0", "~", "-", "_", "%20", "//"]), max_size=6),
    query=st.sampled_from(["", "", "", "", "?x=1", "?a=b&c=", "?utm_source=a", "?x=1&gclid=2", "?a", "?a=1&&b=2", "?a+b=1",
                           "?a=%20", "?", "?=1", "?a=b=c"]),
    odd=st.sampled_from(["", "", "", "", "", "", "", "", "#top", ";jsessionid=1", " ", "é", ":", "@", "\t"]),
)
@example(base=PAGE_URL, origin="", path=["//", "a"], query="", odd="")  # a host, not a path
@example(base=PAGE_URL, origin="", path=["/a", "/..", "/b"], query="", odd="")
@example(base=PAGE_URL, origin="", path=["/a"], query="?utm_source=a", odd="")
@example(base="https://user@cops.usdoj.gov/", origin="", path=["/a"], query="", odd="")
@example(base="http://cops.usdoj.gov:8080/a/b?q=1", origin="", path=["/a"], query="", odd="")
def test_plain_href_resolves_as_urllib_does(base, origin, path, query, odd):
    href = origin + "".join(path) + query + odd
    assert _resolve(base, href) == _urllib_resolve(base, href)
