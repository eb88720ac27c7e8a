"""End to end: the CLI against a loopback server and a real SQLite file."""

import json
import socket
import sqlite3
import subprocess
import sys

import pytest

from copswatch.cli import cli
from scraper.parse import parse
from tests.conftest import FIXTURES, fixture_bytes

OLDER = fixture_bytes("buildingtrust-older.html")
NEWER = fixture_bytes("buildingtrust-newer.html")
NEWER_EXPECTED = json.loads((FIXTURES / "buildingtrust-newer.json").read_text(encoding="utf-8"))
OLDER_EXPECTED = json.loads((FIXTURES / "buildingtrust-older.json").read_text(encoding="utf-8"))


def rows(db_path, sql):
    with sqlite3.connect(db_path) as conn:
        return conn.execute(sql).fetchall()


def test_unchanged_page_twice_makes_one_version_and_two_checks(site, cli_run, db_path):
    url = site.serve(OLDER)
    first = cli_run("run", "--url", url, "--json")
    second = cli_run("run", "--url", url, "--json")
    assert (first.exit_code, second.exit_code) == (0, 0)
    assert first.data["outcome"] == "first" and second.data["outcome"] == "unchanged"
    assert second.data["version_id"] == first.data["version_id"]
    assert len(first.data["changes"]["added"]) == 6
    assert rows(db_path, "SELECT COUNT(*) FROM versions") == [(1,)]
    assert rows(db_path, "SELECT COUNT(*) FROM checks") == [(2,)]
    assert rows(db_path, "SELECT COUNT(*) FROM bodies") == [(1,)]  # the same body is stored once


def test_older_to_newer_is_exactly_three_added(site, cli_run):
    url = site.serve(OLDER)
    assert cli_run("run", "--url", url).exit_code == 0
    site.serve(NEWER)
    result = cli_run("run", "--url", url, "--json")
    assert result.exit_code == 0
    changes = result.data["changes"]
    assert result.data["outcome"] == "changed"
    assert [p["title"] for p in changes["added"]] == [p["title"] for p in NEWER_EXPECTED["publications"][:3]]
    assert changes["added"][0] == NEWER_EXPECTED["publications"][0]  # an absolute link in the fixture
    assert changes["removed"] == [] and changes["modified"] == [] and changes["reappeared"] == []
    assert changes["reordered"]  # reported, but not a publication change


def test_show_json_returns_the_page_as_archived(site, cli_run):
    url = site.serve(NEWER)
    cli_run("run", "--url", url)
    result = cli_run("show", "--json")
    assert result.exit_code == 0
    page = result.data
    assert set(page) >= {"version_id", "captured_at", "url", "resources", "spotlight"}
    # Relative links resolve against the loopback URL here, so compare URLs with a parse of the same bytes.
    expected = [{"key": p.key, "title": p.title, "url": p.url, "description": p.description}
                for p in parse(NEWER, url).publications]
    assert [{k: r[k] for k in ("key", "title", "url", "description")} for r in page["resources"]] == expected
    assert [(r["title"], r["description"]) for r in page["resources"]] == \
        [(p["title"], p["description"]) for p in NEWER_EXPECTED["publications"]]
    assert [r["position"] for r in page["resources"]] == list(range(1, 10))
    assert [s["title"] for s in page["spotlight"]] == [s["title"] for s in NEWER_EXPECTED["spotlight"]]
    assert page["url"] == url


def test_modified_description_and_history_and_diff(site, cli_run):
    url = site.serve(OLDER)
    cli_run("run", "--url", url)
    edited = OLDER.replace(b"Examines the successes", b"Examines the many successes")
    site.serve(edited)
    result = cli_run("run", "--url", url, "--json")
    (modified,) = result.data["changes"]["modified"]
    assert modified["fields"] == ["description"]
    assert modified["changes"]["description"]["before"].startswith("Examines the successes")
    assert modified["changes"]["description"]["after"].startswith("Examines the many successes")

    history = cli_run("history", "--json").data
    assert [c["outcome"] for c in history["checks"]] == ["changed", "first"]
    assert [v["version_id"] for v in history["versions"]] == [2, 1]

    diffed = cli_run("diff", "--json").data
    assert diffed["modified"] == result.data["changes"]["modified"]
    assert "+" in diffed["text_diff"] and "many successes" in diffed["text_diff"]
    assert cli_run("diff", "1", "2", "--json").data["modified"] == diffed["modified"]


def test_removal_and_reappearance(site, cli_run):
    url = site.serve(NEWER)
    cli_run("run", "--url", url)
    site.serve(OLDER)
    removed = cli_run("run", "--url", url, "--json").data["changes"]
    assert len(removed["removed"]) == 3 and not removed["added"]
    site.serve(NEWER)
    back = cli_run("run", "--url", url, "--json").data["changes"]
    assert len(back["reappeared"]) == 3 and back["added"] == []


def test_noise_only_change_creates_no_version(site, cli_run, db_path):
    url = site.serve(OLDER)
    cli_run("run", "--url", url)
    noisy = OLDER.replace(b"</head>", b"<script>var csrf='a8f7c6d5e4';var t=1732400000;</script></head>", 1)
    assert noisy != OLDER
    site.serve(noisy)
    result = cli_run("run", "--url", url, "--json")
    assert result.data["outcome"] == "unchanged"
    assert rows(db_path, "SELECT COUNT(*) FROM versions") == [(1,)]
    assert rows(db_path, "SELECT COUNT(*) FROM bodies") == [(2,)]  # the evidence is kept anyway


def test_failed_fetch_is_recorded_and_leaves_the_version(site, cli_run, db_path):
    url = site.serve(OLDER)
    cli_run("run", "--url", url)
    site.serve(b"<h1>Service Unavailable</h1>", status=503)
    result = cli_run("run", "--url", url, "--json")
    assert result.exit_code == 1
    assert result.data["outcome"] == "failed" and "503" in result.data["reason"]
    assert result.data["version_id"] == 1
    assert rows(db_path, "SELECT outcome, http_status FROM checks ORDER BY id") == [("first", 200), ("failed", 503)]
    assert len(cli_run("show", "--json").data["resources"]) == 6


def test_unreachable_host_is_one_line_and_exit_1(cli_run, db_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens here once closed
    result = cli_run("run", "--url", f"http://127.0.0.1:{port}/buildingtrust")
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert len(result.stderr.strip().splitlines()) == 1
    assert rows(db_path, "SELECT outcome FROM checks") == [("failed",)]


@pytest.mark.parametrize("kind", ["directory", "garbage", "foreign", "missing-dir"])
def test_unusable_archive_path_exits_2(tmp_path, kind, site):
    path = tmp_path / "x.db"
    if kind == "directory":
        path.mkdir()
    elif kind == "garbage":
        path.write_bytes(b"this is not sqlite" * 100)
    elif kind == "foreign":
        with sqlite3.connect(path) as conn:
            conn.execute("CREATE TABLE mine (x)")
    else:
        path = tmp_path / "nowhere" / "x.db"
    before = path.read_bytes() if path.is_file() else None
    from click.testing import CliRunner

    result = CliRunner().invoke(cli, ["run", "--url", site.serve(OLDER), "--db", str(path)])
    assert result.exit_code == 2, result.output
    assert "Error: " in result.stderr and "Traceback" not in result.output
    if before is not None:
        assert path.read_bytes() == before  # nothing written to a file that is not ours


def test_show_on_missing_archive_is_a_clear_error(tmp_path):
    from click.testing import CliRunner

    result = CliRunner().invoke(cli, ["show", "--db", str(tmp_path / "none.db")])
    assert result.exit_code == 2 and "no archive" in result.stderr
    assert not (tmp_path / "none.db").exists()


def test_every_command_has_help():
    from click.testing import CliRunner

    for name, command in cli.commands.items():
        result = CliRunner().invoke(cli, [name, "--help"])
        assert result.exit_code == 0, name
        assert command.help, f"{name} has no help text"


def test_demo_replays_the_nights(tmp_path):
    from click.testing import CliRunner

    db = tmp_path / "demo.db"
    for _ in range(2):  # a second demo replaces the first
        result = CliRunner().invoke(cli, ["demo", "--db", str(db)])
        assert result.exit_code == 0, result.output
    assert result.output.count("+ added") == 6 + 3
    assert "~ modified: COPS Evaluation Brief No. 3" in result.output
    assert rows(db, "SELECT outcome FROM checks ORDER BY id") == [
        ("first",), ("unchanged",), ("changed",), ("changed",), ("anomaly",)]
    assert "check 5 · anomaly · " in result.output and "the current version is unchanged" in result.output
    assert rows(db, "SELECT MAX(id), COUNT(*) FROM versions") == [(3, 3)]


def test_demo_refuses_a_real_archive(site, cli_run, db_path):
    cli_run("run", "--url", site.serve(OLDER))
    from click.testing import CliRunner

    result = CliRunner().invoke(cli, ["demo", "--db", str(db_path)])
    assert result.exit_code == 2 and "real archive" in result.stderr


def test_installed_command_end_to_end(site, db_path):
    url = site.serve(NEWER)
    proc = subprocess.run(
        [sys.executable, "-m", "copswatch", "run", "--url", url, "--db", str(db_path), "--json"],
        capture_output=True, text=True, timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["outcome"] == "first" and len(out["changes"]["added"]) == 9
    assert site.requests[-1]["headers"]["User-Agent"].startswith("copswatch/")


@pytest.mark.parametrize("name", ["buildingtrust-older.html", "buildingtrust-newer.html"])
def test_demo_snapshots_are_the_test_fixtures(name):
    # The demo ships copies (package data) of two fixtures; they must not drift apart.
    from importlib.resources import files

    assert (files("copswatch") / "demo_pages" / name).read_bytes() == fixture_bytes(name)


def test_html_served_without_an_html_type_is_still_the_page(site, cli_run):
    # e.g. `python -m http.server` serving a file without an extension as application/octet-stream
    url = site.serve(OLDER, headers={"Content-Type": "application/octet-stream"})
    result = cli_run("run", "--url", url, "--json")
    assert result.exit_code == 0 and result.data["outcome"] == "first"
    assert len(result.data["changes"]["added"]) == 6


def test_a_damaged_archive_is_one_error_line(site, cli_run, db_path):
    cli_run("run", "--url", site.serve(OLDER))
    (root,) = rows(db_path, "SELECT rootpage FROM sqlite_master WHERE name = 'versions'")[0]
    with open(db_path, "r+b") as f:  # the archive opens, but reading its versions fails mid-command
        f.seek((root - 1) * 4096)
        f.write(b"\xde\xad" * 2048)
    for command in (["show"], ["history"]):
        result = cli_run(*command)
        assert result.exit_code in (1, 2) and "Traceback" not in result.output, command
        assert result.stderr.startswith("Error: ") and len(result.stderr.strip().splitlines()) == 1, command


@pytest.mark.parametrize("args", [["run", "--url", "ftp://example.org/x"], ["run", "--url", "notaurl"],
                                  ["export", "--output", "/nonexistent-dir/x.csv"]])
def test_bad_user_paths_and_urls_are_usage_errors(site, cli_run, db_path, args):
    cli_run("run", "--url", site.serve(OLDER))
    checks = rows(db_path, "SELECT COUNT(*) FROM checks")
    result = cli_run(*args)
    assert result.exit_code == 2 and result.stderr.startswith("Error: ")
    assert rows(db_path, "SELECT COUNT(*) FROM checks") == checks  # nothing recorded


def test_a_directory_as_db_is_one_error_line(tmp_path):
    from click.testing import CliRunner

    result = CliRunner().invoke(cli, ["show", "--db", str(tmp_path)])
    assert result.exit_code == 2 and result.stderr.strip().splitlines() == [result.stderr.strip()]


@pytest.mark.parametrize("command", [["history"], ["new"], ["removed"], ["search", "trust"], ["export"], ["stats"]])
def test_an_unknown_target_is_an_error_not_an_empty_answer(site, cli_run, command):
    cli_run("run", "--url", site.serve(OLDER))
    result = cli_run(*command, "--target", "nope")
    assert result.exit_code == 1 and "no target 'nope'" in result.stderr and "buildingtrust" in result.stderr
    assert cli_run(*command).exit_code == 0
