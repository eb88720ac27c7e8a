"""`copswatch doctor` and `copswatch backup` on real archives, healthy, damaged and in use."""

import hashlib
import os
import sqlite3
import subprocess
import sys
import zlib

import pytest

from storage import SCHEMA_VERSION
from tests.conftest import fixture_bytes

OLDER = fixture_bytes("buildingtrust-older.html")
NEWER = fixture_bytes("buildingtrust-newer.html")


@pytest.fixture
def archived(site, cli_run, db_path):
    """An archive with two versions and three checks."""
    url = site.serve(OLDER)
    cli_run("run", "--url", url)
    site.serve(NEWER)
    cli_run("run", "--url", url)
    cli_run("run", "--url", url)
    return db_path


def tamper(db_path, *statements):
    with sqlite3.connect(db_path) as conn:
        for sql, params in statements:
            conn.execute(sql, params)


def test_doctor_on_a_healthy_archive(archived, cli_run):
    result = cli_run("doctor", "--json")
    assert result.exit_code == 0
    assert result.data == {
        "path": str(archived), "healthy": True, "schema_version": SCHEMA_VERSION,
        "expected_schema_version": SCHEMA_VERSION,
        "checked": ["integrity", "schema_version", "dangling_references", "versions_without_listing",
                    "orphaned_bodies", "body_hashes"],
        "problems": [],
    }
    text = cli_run("doctor")
    assert text.exit_code == 0 and "healthy" in text.output


@pytest.mark.parametrize("damage, check, detail", [
    ([("UPDATE bodies SET content = ? WHERE id = 1", [zlib.compress(b"<html>altered</html>")])],
     "body_hashes", "bodies whose content no longer matches their SHA-256: 1"),
    ([("UPDATE bodies SET content = ? WHERE id = 2", [b"not zlib"])],
     "body_hashes", "bodies whose content no longer matches their SHA-256: 2"),
    ([("INSERT INTO bodies (sha256, size, compression, content) VALUES (?, 1, 'zlib', ?)",
       [hashlib.sha256(b"x").hexdigest(), zlib.compress(b"x")])], "orphaned_bodies", "bodies no check or version refers to: 3"),
    ([("DELETE FROM version_publications WHERE version_id = ?", [1])],
     "versions_without_listing", "versions whose listing rows are missing or incomplete: 1"),
    ([("UPDATE checks SET version_id = 99 WHERE id = ?", [3])],
     "dangling_references", "1 checks pointing at a missing version"),
    ([("PRAGMA user_version = 0", [])], "schema_version", f"schema version 0, this copswatch uses {SCHEMA_VERSION}"),
    ([("PRAGMA user_version = 99", [])], "schema_version", "schema version 99 is newer"),
])
def test_doctor_finds_each_problem_and_says_how_to_fix_it(archived, cli_run, damage, check, detail):
    tamper(archived, *damage)
    before = archived.read_bytes()
    result = cli_run("doctor", "--json")
    assert result.exit_code == 1
    assert result.data["healthy"] is False
    (problem,) = result.data["problems"]
    assert problem["check"] == check and problem["detail"].startswith(detail)
    assert problem["fix"]
    assert archived.read_bytes() == before  # read-only: doctor repairs nothing silently
    text = cli_run("doctor")
    assert text.exit_code == 1 and "fix:" in text.output and f"PROBLEM  {check}" in text.output


def test_doctor_reports_a_corrupted_file(archived, cli_run):
    with sqlite3.connect(archived) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        page_size = conn.execute("PRAGMA page_size").fetchone()[0]
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
    with open(archived, "r+b") as f:  # scribble over the second half of the file, past the schema page
        for page in range(pages // 2, pages):
            f.seek(page * page_size + 8)
            f.write(b"\xde\xad\xbe\xef" * 16)
    result = cli_run("doctor", "--json")
    assert result.exit_code == 1, result.stderr
    assert any(p["check"] == "integrity" for p in result.data["problems"])


def test_doctor_without_an_archive_is_a_usage_error(cli_run, tmp_path):
    result = cli_run("doctor", "--db", tmp_path / "none.db", db=False)
    assert result.exit_code == 2 and "Error:" in result.stderr


def test_backup_of_an_archive_in_use(archived, cli_run, tmp_path):
    reader = sqlite3.connect(archived, isolation_level=None)
    reader.execute("BEGIN")
    reader.execute("SELECT COUNT(*) FROM checks").fetchone()
    writer = sqlite3.connect(archived, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")
    writer.execute("DELETE FROM events")  # uncommitted: must not be in the copy

    copy = tmp_path / "copy.db"
    result = cli_run("backup", copy, "--json")
    assert result.exit_code == 0, result.output
    assert result.data["versions"] == 2 and result.data["checks"] == 3 and result.data["path"] == str(copy)
    live = cli_run("doctor", "--json")  # doctor too works beside a reader and an uncommitted writer
    assert live.exit_code == 0 and live.data["healthy"] is True
    writer.execute("ROLLBACK")
    with sqlite3.connect(copy) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert conn.execute("SELECT COUNT(*) FROM events").fetchone()[0] > 0
    assert cli_run("doctor", "--db", copy, "--json", db=False).data["healthy"] is True
    assert cli_run("show", "--db", copy, "--json", db=False).data["version_id"] == 2
    assert not [p for p in os.listdir(tmp_path) if ".partial-" in p]


def test_backup_refuses_to_overwrite_without_force(archived, cli_run, tmp_path):
    existing = tmp_path / "precious.db"
    existing.write_bytes(b"keep me")
    refused = cli_run("backup", existing)
    assert refused.exit_code == 2 and "already exists; use --force" in refused.stderr
    assert existing.read_bytes() == b"keep me"
    forced = cli_run("backup", existing, "--force")
    assert forced.exit_code == 0
    with sqlite3.connect(existing) as conn:
        assert conn.execute("SELECT COUNT(*) FROM versions").fetchone() == (2,)


@pytest.mark.parametrize("where", ["directory", "missing-dir", "itself"])
def test_backup_validates_the_path(archived, cli_run, tmp_path, where):
    path = {"directory": tmp_path, "missing-dir": tmp_path / "nope" / "copy.db", "itself": archived}[where]
    before = archived.read_bytes()
    result = cli_run("backup", path, "--force")
    assert result.exit_code == 2 and result.stderr.startswith("Error:")
    assert archived.read_bytes() == before


def test_backups_while_runs_write(site, db_path, tmp_path, cli_run):
    """Back up repeatedly while a real `copswatch run` subprocess keeps writing; every copy is healthy."""
    url = site.serve(OLDER)
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    runs = []
    for i in range(6):
        site.serve(NEWER if i % 2 else OLDER)
        runs.append(subprocess.Popen([sys.executable, "-m", "copswatch", "run", "--url", url, "--db", str(db_path)],
                                     env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        copy = tmp_path / f"copy{i}.db"
        while not db_path.exists():
            pass
        result = cli_run("backup", copy, "--json")
        assert result.exit_code in (0, 2), result.output  # 2 only if the run has not created the schema yet
        if result.exit_code == 0:
            assert cli_run("doctor", "--db", copy, "--json", db=False).data["healthy"] is True
        assert runs[-1].wait(60) == 0
