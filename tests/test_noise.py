"""Noise is not change: markup-only differences store the raw body but create no new version."""

import re
import sqlite3

import pytest

from tests.conftest import fixture_bytes

NEWER = fixture_bytes("buildingtrust-newer.html")


def scripts(page: bytes) -> bytes:
    page = page.replace(b"</head>", b'<script>window.__build = "8f2a91c"; var t = 1732431601123;</script></head>')
    return page.replace(b'<h1 class="page-title">', b'<script>dataLayer.push({"ts": 1732431601})</script>'
                        b'<h1 class="page-title">')


def styles(page: bytes) -> bytes:
    page = page.replace(b"</head>", b"<style>.x-9f1c{color:#112e51}</style></head>")
    return page.replace(b'<h1 class="page-title">', b'<h1 class="page-title" style="margin-top:2px">')


def csrf(page: bytes) -> bytes:
    page = page.replace(b"Yk3xQ9vLr2_PqZ0aT7sWm1", b"Zz0pL1mN2bV3cX4_Aq9Rt8")
    page = page.replace(b"</head>", b'<meta name="csrf-token" content="f0e1d2c3b4a5"></head>')
    return page.replace(b'<div class="body-content">', b'<div class="body-content"><form action="/feedback" '
                        b'method="post"><input type="hidden" name="_token" value="a1b2c3d4e5"></form>', 1)


def chrome_timestamps(page: bytes) -> bytes:
    page = page.replace(b"</footer>", b"<p>Page generated 2026-11-24 07:00:01 UTC by node web-3</p></footer>")
    return page.replace(b"</header>", b"<div>Tuesday, November 24, 2026 02:00 AM EST</div></header>")


def whitespace(page: bytes) -> bytes:
    page = page.replace(b"\n", b"\r\n\t  \n")
    return page.replace(b"effective policing. Sound", b"effective  policing.\n   Sound")


def attribute_order(page: bytes) -> bytes:
    def reverse(match):
        attrs = re.findall(rb'\s+[\w:-]+="[^"]*"', match.group(2))
        return b"<" + match.group(1) + b"".join(reversed(attrs)) + match.group(3) + b">"

    return re.sub(rb'<(\w+)((?:\s+[\w:-]+="[^"]*"){2,})(\s*/?)>', reverse, page)


def tracking(page: bytes) -> bytes:
    def tag(match):
        href = match.group(1)
        joiner = b"&" if b"?" in href else b"?"
        return b'href="' + href + joiner + b'utm_source=govdelivery&utm_medium=email&PHPSESSID=9a8b7c"'

    return re.sub(rb'href="((?:https?:)?/[^"#]*)"', tag, page)


@pytest.mark.parametrize("noise", [scripts, styles, csrf, chrome_timestamps, whitespace, attribute_order, tracking])
def test_noise_only_change_makes_no_new_version(site, cli_run, db_path, noise):
    noisy = noise(NEWER)
    assert noisy != NEWER
    url = site.serve(NEWER)
    assert cli_run("run", "--url", url, "--json").data["outcome"] == "first"
    site.serve(noisy)
    result = cli_run("run", "--url", url, "--json")
    assert result.exit_code == 0 and result.data["outcome"] == "unchanged"
    with sqlite3.connect(db_path) as conn:
        assert conn.execute("SELECT COUNT(*) FROM versions").fetchone() == (1,)
        assert conn.execute("SELECT COUNT(*) FROM bodies").fetchone() == (2,)  # the noisy body is kept
        assert conn.execute("SELECT COUNT(*) FROM events").fetchone() == (9,)  # the first version's nine "added"


def test_a_real_change_next_to_noise_is_still_a_change(site, cli_run):
    url = site.serve(NEWER)
    cli_run("run", "--url", url)
    site.serve(tracking(scripts(NEWER)).replace(b"Examines the successes", b"Examines the failures"))
    result = cli_run("run", "--url", url, "--json")
    assert result.data["outcome"] == "changed"
    assert [m["fields"] for m in result.data["changes"]["modified"]] == [["description"]]


OLD_TEMPLATE = """<html><head><title>Building Trust</title></head><body>
<div id="banner"><a href="/">COPS</a> Last updated {stamp}</div>
<div id="page"><h1>Building Trust</h1><p>Intro.</p>
<ul><li><a href="/a-cops-p1.pdf">Alpha</a><br>First.</li><li><a href="/b-cops-p2.pdf">Beta</a><br>Second.</li></ul>
</div><div id="footer"><a href="/privacy">Privacy</a> Page generated {stamp} by web-{node}</div></body></html>"""


def test_chrome_stamps_in_an_old_template_without_main(site, cli_run):
    url = site.serve(OLD_TEMPLATE.format(stamp="2026-11-23 07:00:01", node=1).encode())
    cli_run("run", "--url", url)
    site.serve(OLD_TEMPLATE.format(stamp="2026-11-24 07:00:02", node=2).encode())
    result = cli_run("run", "--url", url, "--json")
    assert result.data["outcome"] == "unchanged"
