"""Scraped text is data: escaped on the terminal, stored verbatim through parameterised SQL; URLs
carrying credentials are refused before anything is stored."""

import sqlite3

from tests.conftest import fixture_bytes

OLDER = fixture_bytes("buildingtrust-older.html")
TITLE = b"Building Trust Between the Police and the Citizens They Serve"
HOSTILE = ("\x1b[31mRED\x1b[0m\x1b]0;pwned\x07 &lt;script&gt;alert(1)&lt;/script&gt; "
           "'); DROP TABLE versions; --").encode()


def test_hostile_title_is_escaped_on_the_terminal_and_stored_verbatim(site, cli_run, db_path):
    url = site.serve(OLDER.replace(TITLE, HOSTILE))
    run = cli_run("run", "--url", url)
    assert run.exit_code == 0
    for result in (run, cli_run("show"), cli_run("history")):
        assert "\x1b" not in result.output and "\x07" not in result.output
    # The parser drops control characters (no HTML text may hold them); the markup stays inert text.
    shown = cli_run("show").output
    assert "[31mRED[0m]0;pwned <script>alert(1)</script>" in shown

    data = cli_run("show", "--json").data  # JSON keeps the data exactly, escaped by the JSON encoder
    title = data["resources"][0]["title"]
    assert title.startswith("[31mRED") and "<script>alert(1)</script> '); DROP TABLE versions; --" in title

    with sqlite3.connect(db_path) as conn:
        assert conn.execute("SELECT COUNT(*) FROM versions").fetchone() == (1,)  # the SQL text stayed text
        assert conn.execute("SELECT title FROM publication_revisions WHERE title LIKE '%DROP TABLE%'").fetchone()


def test_control_characters_are_made_visible_on_the_terminal():
    from copswatch.cli import safe

    assert safe("a\x1b[31mb\x07c\x9b") == "a\\x1b[31mb\\x07c\\x9b"


def test_url_with_credentials_is_refused_before_anything_is_stored(cli_run, db_path, tmp_path):
    result = cli_run("run", "--url", "https://alice:hunter2@cops.example.invalid/buildingtrust")
    assert result.exit_code == 2 and "credentials" in result.stderr and "hunter2" not in result.stderr
    assert not db_path.exists()
    config = tmp_path / "c.toml"
    config.write_text('[targets.bt]\nurl = "https://alice:hunter2@cops.example.invalid/bt"\n')
    result = cli_run("run", "--config", config)
    assert result.exit_code == 2 and "credentials" in result.stderr and "hunter2" not in result.stderr
