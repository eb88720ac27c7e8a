"""Every markup shape gives the same publications; Spotlight anywhere; CSS selectors; fuzzing."""

import json
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from copswatch.config import ConfigError, load
from scraper.errors import ParseError
from scraper.model import Page
from scraper.parse import parse

FIXTURES = Path(__file__).parent / "fixtures"
# windows-1252 is a charset fixture (three publications with curly quotes), checked by its own JSON.
SHAPES = sorted(p for p in (FIXTURES / "shapes").glob("*.html") if p.stem != "windows-1252")
PAGE_URL = "https://cops.usdoj.gov/buildingtrust"


def expected(copy: str) -> list[tuple]:
    data = json.loads((FIXTURES / f"buildingtrust-{copy}.json").read_text(encoding="utf-8"))
    return [(p["key"], p["title"], p["url"], p["description"]) for p in data["publications"]]


@pytest.mark.parametrize("shape", SHAPES, ids=[s.stem for s in SHAPES])
def test_every_shape_gives_the_same_publications(shape):
    copy = "older" if shape.stem.startswith("older-") else "newer"
    page = parse(shape.read_bytes(), PAGE_URL)
    assert [(p.key, p.title, p.url, p.description) for p in page.publications] == expected(copy)
    assert len(page.publications) == (6 if copy == "older" else 9)


def test_there_are_shapes_of_both_copies():
    stems = {s.stem for s in SHAPES}
    assert len(stems) >= 13 and {"one-p-br", "dl", "sibling-trailing", "older-one-p-br", "older-dl"} <= stems


def test_colon_titles_stay_whole_and_descriptions_never_swallow_the_next_title():
    for shape in SHAPES:
        page = parse(shape.read_bytes(), PAGE_URL)
        titles = {p.title for p in page.publications}
        assert "Crime Prevention Research Review No. 10: Legitimacy in Policing" in titles
        for p in page.publications:
            assert not any(t in p.description for t in titles), (shape.stem, p.title)


SPOT_ITEMS = (
    '<a href="/collaborativereform?utm_source=x"><img src="/img/cr.jpg" alt="Collaborative Reform"></a>'
    '<a href="/cpdispatch"><img src="/img/dispatch.png" title="Community Policing Dispatch"></a>'
)
LISTING = ('<ul><li><a href="/a-cops-p1.pdf">Alpha</a><br>First.</li>'
           '<li><a href="/b-cops-p2.pdf">Beta</a><br>Second.</li></ul>')


@pytest.mark.parametrize("body", [
    f"<main><h1>T</h1>{LISTING}<aside><h4>SPOTLIGHT</h4><p>{SPOT_ITEMS}</p></aside></main>",
    f"<div><h2>Spotlight</h2>{SPOT_ITEMS}</div><main><h1>T</h1>{LISTING}</main>",
    f"<main><h1>T</h1>{LISTING}</main><footer><h3>spotlight:</h3><div><div>{SPOT_ITEMS}</div></div></footer>",
    f'<main><h1>T</h1><section aria-label="Spotlight">{SPOT_ITEMS}</section>{LISTING}</main>',
    f'<main><h1>T</h1>{LISTING}<div role="region" aria-labelledby="s1"><span id="s1">Spotlight</span>'
    f"{SPOT_ITEMS}</div></main>",
], ids=["h4-aside-after", "h2-before-main", "footer-nested", "aria-label", "aria-labelledby"])
def test_spotlight_found_wherever_it_sits(body):
    page = parse(f"<html><body>{body}</body></html>".encode(), PAGE_URL)
    assert [(s.url, s.image, s.title, s.position) for s in page.spotlight] == [
        ("https://cops.usdoj.gov/collaborativereform", "https://cops.usdoj.gov/img/cr.jpg", "Collaborative Reform", 1),
        ("https://cops.usdoj.gov/cpdispatch", "https://cops.usdoj.gov/img/dispatch.png",
         "Community Policing Dispatch", 2),
    ]
    assert [p.title for p in page.publications] == ["Alpha", "Beta"]  # spotlight links are not publications


# A page the heuristics misread: a bigger described list of related links outranks the listing.
DECOY = b"""<html><body><main><h1>Building Trust</h1>
<div class="pubs"><div class="pub"><h3><a href="/x-cops-p1.pdf">Alpha: A Guide</a></h3><p>Alpha text.</p></div>
<div class="pub"><h3><a href="/x-cops-p2.pdf">Beta</a></h3><p>Beta text.</p></div></div>
<ul class="related"><li><a href="/r1">Related one</a> - a related site</li>
<li><a href="/r2">Related two</a> - another</li>
<li><a href="/r3">Related three</a> - yet another</li><li><a href="/r4">Related four</a> - and one more</li></ul>
<div class="promo"><a href="/p"><img src="/p.png" alt="Promo"></a></div>
</main></body></html>"""


@pytest.mark.parametrize("selectors", [
    {"listing": ".pubs"},
    {"entry": ".pub"},
    {"entry": ".pub", "title": "h3 a", "description": "p"},
    {"title": ".pubs h3"},
])
def test_css_selectors_override_the_heuristics(selectors):
    assert [p.title for p in parse(DECOY, PAGE_URL).publications][0] == "Related one"  # the heuristics' pick
    page = parse(DECOY, PAGE_URL, selectors=selectors)
    assert [(p.key, p.title, p.description) for p in page.publications] == [
        ("cops-p1", "Alpha: A Guide", "Alpha text."), ("cops-p2", "Beta", "Beta text.")]


def test_spotlight_selector_and_fallback_when_a_selector_matches_nothing():
    page = parse(DECOY, PAGE_URL, selectors={"spotlight": ".promo", "listing": ".gone-in-redesign"})
    assert [(s.url, s.title) for s in page.spotlight] == [("https://cops.usdoj.gov/p", "Promo")]
    assert len(page.publications) == 4  # the listing selector found nothing: the heuristics' reading


@pytest.mark.parametrize("selectors", [{"listing": "div[["}, {"headline": "h3"}])
def test_bad_selectors_are_parse_errors(selectors):
    with pytest.raises(ParseError):
        parse(DECOY, PAGE_URL, selectors=selectors)


@pytest.mark.parametrize("table, message", [
    ('selectors = { listing = "div[[" }', "not a valid CSS selector"),
    ('selectors = { headline = "h3" }', "unknown key targets.t.selectors.headline"),
])
def test_config_rejects_bad_selectors(tmp_path, table, message):
    path = tmp_path / "c.toml"
    path.write_text(f'[targets.t]\nurl = "https://example.org/"\n{table}\n')
    with pytest.raises(ConfigError, match=message):
        load(str(path), env={})


def test_config_selectors_reach_the_target(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text('removal_threshold = 0.25\n[targets.t]\nselectors = { entry = ".pub", title = "h3 a" }\n')
    config = load(str(path), env={})
    assert config.targets["t"].selectors == {"entry": ".pub", "title": "h3 a"} and config.removal_threshold == 0.25
    assert load(str(path), env={"COPSWATCH_REMOVAL_THRESHOLD": "0.75"}).removal_threshold == 0.75


# -- property-based: the parser returns a Page or raises ParseError, nothing else ----------------------

# Modest by default (CPU is shared); COPSWATCH_FUZZ_EXAMPLES=2000 for a longer hunt.
FUZZ = settings(max_examples=int(os.environ.get("COPSWATCH_FUZZ_EXAMPLES", 60)), deadline=None,
                suppress_health_check=[HealthCheck.too_slow])
NEWER = (FIXTURES / "buildingtrust-newer.html").read_bytes()
TAGS = ["<p>", "</p>", "<div>", "</div>", "<a href='/x-cops-p9.pdf'>", "</a>", "<br>", "<li>", "<ul>", "</ul>",
        "<table>", "<tr><td>", "<h2>", "</h2>", "<!--", "-->", "<script>", "</script>", "<main>", "<", ">", "&",
        "&nbsp;", "\x00", "\ufeff", "<?xml version='1.0' encoding='utf-8'?>", "<meta charset='utf-16'>",
        "<base href='::bad'>", "<img src=x>", "<nav>", "<h1>"]


def outcome(body: bytes, content_type=None):
    try:
        page = parse(body, PAGE_URL, content_type)
    except ParseError as exc:
        assert str(exc)
        return None
    assert isinstance(page, Page)
    assert [p.position for p in page.publications] == list(range(1, len(page.publications) + 1))
    return page


@FUZZ
@given(st.binary(max_size=3000), st.sampled_from([None, "text/html", "text/html; charset=utf-16",
                                                  "text/html; charset=bogus", "text/html; charset=windows-1252"]))
def test_arbitrary_bytes(body, content_type):
    outcome(body, content_type)


@FUZZ
@given(st.lists(st.sampled_from(TAGS) | st.text(max_size=8), max_size=60).map("".join),
       st.sampled_from(["utf-8", "utf-16", "windows-1252", "latin-1", "shift_jis", "utf-32"]))
def test_arbitrary_markup_in_any_encoding(markup, encoding):
    outcome(markup.encode(encoding, errors="replace"), f"text/html; charset={encoding}")
    outcome(markup.encode(encoding, errors="replace"))


@FUZZ
@given(st.lists(st.tuples(st.integers(0, len(NEWER)), st.integers(0, 400), st.sampled_from(TAGS)), max_size=6))
def test_mutated_real_page(mutations):
    body = NEWER
    for at, cut, insert in mutations:
        body = body[:at] + insert.encode() + body[at + cut:]
    outcome(body)


def test_a_body_mostly_undecodable_in_its_declared_charset_is_a_parse_error():
    with pytest.raises(ParseError, match="not decodable"):
        parse(bytes(range(0x80, 0x100)) * 20, PAGE_URL, "text/html; charset=utf-8")
    page = parse("<p>caf\u00e9</p>".encode("cp1252"), PAGE_URL, "text/html; charset=utf-8")  # one bad byte
    assert isinstance(page, Page)


def test_entry_parts_classed_header_are_not_page_chrome():
    entries = "".join(f'<div class="item"><div class="header"><a href="/x-cops-p{i}.pdf">Title {i}</a></div>'
                      f'<div class="body">About {i}.</div></div>' for i in range(1, 4))
    page = parse(f'<html><body><div id="header"><a href="/">Home</a> 2026-11-24</div>{entries}</body></html>'.encode(),
                 PAGE_URL)
    assert [(p.title, p.description) for p in page.publications] == [(f"Title {i}", f"About {i}.") for i in (1, 2, 3)]
    assert "2026-11-24" not in page.text


# -- more markups of the same nine publications, built from the expected JSON ---------------------

NINE = json.loads((FIXTURES / "buildingtrust-newer.json").read_text(encoding="utf-8"))["publications"]


def _e(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _linked(description: str) -> str:  # descriptions that carry links of their own
    return _e(description).replace("executive session", '<a href="/session">executive session</a>') \
        .replace("Internal Affairs", '<a href="/ia">Internal Affairs</a>')


VARIANTS = {
    "li-desc-links": lambda: "<ul>" + "".join(
        f'<li><a href="{p["url"]}">{_e(p["title"])}</a><br>{_linked(p["description"])}</li>' for p in NINE) + "</ul>",
    "cards-read-more": lambda: "".join(
        f'<div class="card"><h3><a href="{p["url"]}">{_e(p["title"])}</a></h3><p>{_linked(p["description"])}</p>'
        f'<a href="{p["url"]}">Read more</a></div>' for p in NINE),
    "dt-pdf-echo": lambda: "<dl>" + "".join(
        f'<dt><a href="{p["url"]}">{_e(p["title"])}</a> <a href="{p["url"]}">(PDF)</a></dt>'
        f'<dd>{_e(p["description"])}</dd>' for p in NINE) + "</dl>",
    "table-cells": lambda: "<table>" + "".join(
        f'<tr><td><a href="{p["url"]}">{_e(p["title"])}</a></td><td>{_e(p["description"])}</td></tr>'
        for p in NINE) + "</table>",
    "table-rows-desc-links": lambda: "<table>" + "".join(
        f'<tr><th><a href="{p["url"]}">{_e(p["title"])}</a></th></tr><tr><td>{_linked(p["description"])}</td></tr>'
        for p in NINE) + "</table>",
    "flat-strong-p-trailing": lambda: "".join(
        f'<p><strong><a href="{p["url"]}">{_e(p["title"])}</a></strong></p><p>{_e(p["description"])}</p>'
        for p in NINE) + "<p>&nbsp;</p><p>For more, visit the <a href='/ric'>Resource Center</a>.</p>",
    "article-header": lambda: "".join(
        f'<article><header><h2><a href="{p["url"]}">{_e(p["title"])}</a></h2></header>'
        f'<div>{_e(p["description"])}</div></article>' for p in NINE),
    "inline-em": lambda: "".join(
        f'<p><a href="{p["url"]}"><span>{_e(p["title"])}</span>&nbsp;</a><br><em>{_e(p["description"])}</em></p>'
        for p in NINE),
}


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_more_markups_of_the_nine(variant):
    body = (f"<html><head><title>Building Trust</title></head><body><header><nav><a href='/'>Home</a></nav>"
            f"</header><main><h1>Building Trust</h1><p>Intro.</p>{VARIANTS[variant]()}</main>"
            f"<footer><a href='/contact'>Contact the Department</a></footer></body></html>")
    page = parse(body.encode(), PAGE_URL)
    assert [(p.key, p.title, p.url, p.description) for p in page.publications] == expected("newer")
