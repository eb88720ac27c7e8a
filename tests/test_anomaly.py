"""Each anomaly end to end: loopback server → `copswatch run --json` → the archive stays as it was."""

import sqlite3

import pytest

from tests.conftest import fixture_bytes

NEWER = fixture_bytes("buildingtrust-newer.html")
OLDER = fixture_bytes("buildingtrust-older.html")


def rows(db_path, sql, params=()):
    with sqlite3.connect(db_path) as conn:
        return conn.execute(sql, params).fetchall()


def current(db_path):
    return rows(db_path, "SELECT key, title, description FROM current_publications ORDER BY position")


@pytest.fixture
def archived(site, cli_run, db_path):
    """An archive whose current version is the newer page (nine publications)."""
    url = site.serve(NEWER)
    first = cli_run("run", "--url", url, "--json")
    assert first.data["outcome"] == "first" and len(first.data["changes"]["added"]) == 9
    return url, current(db_path)


def assert_anomaly(result, db_path, before, rule):
    assert result.exit_code == 1
    assert result.data["outcome"] == "anomaly"
    assert result.data["reason"].startswith(rule + ":")
    assert result.data["version_id"] == 1
    assert result.data["changes"]["removed"] == [] and result.data["summary"] is None
    assert current(db_path) == before
    assert rows(db_path, "SELECT COUNT(*) FROM versions") == [(1,)]
    assert rows(db_path, "SELECT COUNT(*) FROM events WHERE kind = 'removed'") == [(0,)]
    (check,) = rows(db_path, "SELECT outcome, anomaly, body_id IS NOT NULL FROM checks ORDER BY id DESC LIMIT 1")
    assert check == ("anomaly", rule, 1)  # the raw body is kept as evidence


MAINTENANCE = b"""<!DOCTYPE html><html><head><title>Building Trust | COPS OFFICE</title></head><body>
<main><h1>Building Trust</h1><p>This site is being updated. Please check back later.</p>
<p><a href="/">Return to the home page</a></p></main></body></html>"""


@pytest.mark.parametrize("body", [MAINTENANCE, b"<html><body></body></html>"], ids=["maintenance", "empty-page"])
def test_zero_publications(site, cli_run, db_path, archived, body):
    url, before = archived
    site.serve(body)
    assert_anomaly(cli_run("run", "--url", url, "--json"), db_path, before, "no-publications")


def test_empty_body(site, cli_run, db_path, archived):
    url, before = archived
    site.serve(b"")
    assert_anomaly(cli_run("run", "--url", url, "--json"), db_path, before, "not-html")


def test_body_cut_short_is_a_large_removal_then_confirmed(site, cli_run, db_path, archived):
    url, before = archived
    cut = NEWER[: NEWER.index(b"Crime Prevention Research Review")]  # three publications survive the cut
    site.serve(cut)
    result = cli_run("run", "--url", url, "--json")
    assert_anomaly(result, db_path, before, "large-removal")
    assert "6 of the 9" in result.data["reason"]
    text = cli_run("run", "--url", url)  # the same page again: a believable confirmation
    assert text.exit_code == 0
    (version, removed) = rows(
        db_path, "SELECT MAX(id), (SELECT COUNT(*) FROM events WHERE kind = 'removed') FROM versions")[0]
    assert version == 2 and removed == 6
    assert len(current(db_path)) == 3


@pytest.mark.parametrize("how", ["option", "env", "config"])
def test_removal_threshold_option_env_and_config(site, cli_run, db_path, archived, tmp_path, monkeypatch, how):
    url, before = archived
    three_gone = NEWER[: NEWER.index(b"Building Trust Between the Police")]  # 6 of 9 left
    site.serve(three_gone)
    args = []
    if how == "option":
        args = ["--removal-threshold", "0.2"]
    elif how == "env":
        monkeypatch.setenv("COPSWATCH_REMOVAL_THRESHOLD", "0.3")
    else:
        (tmp_path / "c.toml").write_text("removal_threshold = 0.3\n")
        args = ["--config", tmp_path / "c.toml"]
    assert_anomaly(cli_run("run", "--url", url, "--json", *args), db_path, before, "large-removal")


def test_default_threshold_is_more_than_half(site, cli_run, db_path, archived):
    url, _ = archived
    # Three of nine gone from a complete page (it still closes) is believable.
    site.serve(NEWER[: NEWER.index(b"Building Trust Between the Police")] + NEWER[NEWER.index(b"</main>"):])
    result = cli_run("run", "--url", url, "--json")
    assert result.exit_code == 0 and len(result.data["changes"]["removed"]) == 3
    assert cli_run("run", "--url", url, "--json", "--removal-threshold", "2").exit_code == 2
    assert cli_run("run", "--url", url, "--json", "--removal-threshold", "0").exit_code == 2


@pytest.mark.parametrize("body, content_type", [
    (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj<</Type/Catalog>>endobj", "application/pdf"),
    (b"%PDF-1.7\n1 0 obj<</Type/Catalog>>endobj", "text/html"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "image/png"),
    (b"\x00\x01\x02\x03garbage\x00\xff\xfe", "text/html"),
    (bytes(range(0x80, 0x100)) * 40, "text/html; charset=utf-8"),  # not decodable text
])
def test_non_html_or_binary(site, cli_run, db_path, archived, body, content_type):
    url, before = archived
    site.serve(body, headers={"Content-Type": content_type})
    assert_anomaly(cli_run("run", "--url", url, "--json"), db_path, before, "not-html")


def test_redirect_to_home_page_is_a_soft_404(site, cli_run, db_path, archived):
    url, before = archived
    site.serve(b"", status=302, headers={"Location": "/"})
    site.serve(OLDER, path="/")  # a page with publications, but not this one
    result = cli_run("run", "--url", url, "--json")
    assert_anomaly(result, db_path, before, "redirected")
    assert rows(db_path, "SELECT final_url FROM checks ORDER BY id DESC LIMIT 1") == [(site.url("/"),)]


def test_benign_redirect_to_trailing_slash_is_not_an_anomaly(site, cli_run, db_path, archived):
    url, before = archived
    site.serve(b"", status=301, headers={"Location": "/buildingtrust/"})
    site.serve(NEWER, path="/buildingtrust/")
    result = cli_run("run", "--url", url, "--json")
    assert result.exit_code == 0 and result.data["outcome"] == "unchanged"


ERROR_200 = b"""<html><head><title>Page Not Found | COPS OFFICE</title></head><body><main>
<h1>Page Not Found</h1><p>The page you requested could not be found.</p>
<ul><li><a href="/resources">Resources</a><br>Browse all our publications.</li>
<li><a href="/topics">Topics</a><br>See every topic.</li></ul></main></body></html>"""
DENIED = b"""<html><head><title>Access Denied</title></head><body><h1>Access Denied</h1>
You don't have permission to access "http://cops.usdoj.gov/buildingtrust" on this server.<p>
Reference #18.2f3c1cb8.1732430000.5e2a7b1</p></body></html>"""
F5 = b"""<html><head><title>Request Rejected</title></head><body>The requested URL was rejected.
Please consult with your administrator.<br><br>Your support ID is: 1234567890123456789</body></html>"""
CLOUDFLARE = b"""<!DOCTYPE html><html><head><title>Just a moment...</title></head><body>
<div id="challenge-body-text">Checking if the site connection is secure</div>
<script src="/cdn-cgi/challenge-platform/h/g/orchestrate/chl_page/v1?ray=8e1"></script></body></html>"""


@pytest.mark.parametrize("body, rule", [(ERROR_200, "error-page"), (DENIED, "bot-challenge"), (F5, "bot-challenge"),
                                        (CLOUDFLARE, "bot-challenge")], ids=["not-found", "akamai", "f5", "cloudflare"])
def test_error_or_block_page_served_with_200(site, cli_run, db_path, archived, body, rule):
    url, before = archived
    site.serve(body)
    assert_anomaly(cli_run("run", "--url", url, "--json"), db_path, before, rule)


def test_bot_marks_in_a_page_that_otherwise_looks_right(site, cli_run, db_path, archived):
    url, before = archived
    site.serve(NEWER.replace(b"</body>", b'<iframe src="/_Incapsula_Resource?CWUDNSAI=9"></iframe></body>'))
    assert_anomaly(cli_run("run", "--url", url, "--json"), db_path, before, "bot-challenge")


def test_run_text_output_says_not_believable(site, cli_run, archived):
    url, _ = archived
    site.serve(MAINTENANCE)
    result = cli_run("run", "--url", url)
    assert result.exit_code == 1
    assert "anomaly" in result.stderr and "current version is unchanged" in result.stderr


def test_anomaly_on_the_first_check_records_no_version(site, cli_run, db_path):
    url = site.serve(MAINTENANCE)
    result = cli_run("run", "--url", url, "--json")
    assert result.exit_code == 1 and result.data["outcome"] == "anomaly" and result.data["version_id"] is None
    assert rows(db_path, "SELECT COUNT(*) FROM versions") == [(0,)]


def test_the_same_bytes_reached_by_a_redirect_home_are_still_judged(site, cli_run):
    # The same-bytes shortcut must not skip the guard: the bytes are those of the page, the place is not.
    url = site.serve(NEWER)
    assert cli_run("run", "--url", url).exit_code == 0
    site.serve(NEWER, path="/")
    site.serve(b"", path="/moved", status=301, headers={"Location": "/"})
    result = cli_run("run", "--url", site.url("/moved"), "--json")
    assert result.exit_code == 1 and result.data["outcome"] == "anomaly"
    assert result.data["reason"].startswith("redirected:")


def test_changed_selectors_are_read_even_when_the_bytes_are_not(site, cli_run, tmp_path, db_path):
    url = site.serve(NEWER)
    config = tmp_path / "c.toml"
    config.write_text(f'[targets.bt]\nurl = "{url}"\n', encoding="utf-8")
    assert cli_run("run", "--config", config).exit_code == 0
    config.write_text(f'[targets.bt]\nurl = "{url}"\nselectors = {{ spotlight = "#nothing-here" }}\n',
                      encoding="utf-8")
    result = cli_run("run", "--config", config, "--json")
    assert result.exit_code == 0
    with sqlite3.connect(db_path) as conn:
        versions = conn.execute("SELECT parser_version FROM checks ORDER BY id").fetchall()
    assert versions[0] != versions[1]  # parsed again under the new selectors, not short-cut


def test_a_body_cut_short_that_keeps_most_of_the_listing_is_held_until_confirmed(site, cli_run):
    url = site.serve(NEWER)
    cli_run("run", "--url", url)
    cut = NEWER[: NEWER.index(b"Internal Affairs")]  # inside the 7th entry: 3 of 9 gone, no closing tags
    site.serve(cut)
    first = cli_run("run", "--url", url, "--json")
    assert first.exit_code == 1 and first.data["reason"].startswith("truncated:")
    assert first.data["changes"]["removed"] == []
    assert len(cli_run("show", "--json").data["resources"]) == 9
    confirmed = cli_run("run", "--url", url, "--json")  # the same page again: a real change after all
    assert confirmed.data["outcome"] == "changed" and len(confirmed.data["changes"]["removed"]) >= 2


def test_a_complete_page_that_drops_a_publication_is_a_change(site, cli_run):
    url = site.serve(NEWER)
    cli_run("run", "--url", url)
    start = NEWER.index(b"<p><a href=\"https://portal.cops.usdoj.gov/resourcecenter/content.ashx/cops-p241")
    end = NEWER.index(b"</p>", start) + 4
    site.serve(NEWER[:start] + NEWER[end:])
    result = cli_run("run", "--url", url, "--json")
    assert result.data["outcome"] == "changed" and [p["key"] for p in result.data["changes"]["removed"]] == ["cops-p241"]
