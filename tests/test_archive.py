"""Archive-level tests on a real SQLite file."""

import sqlite3
import subprocess
import sys
from datetime import UTC, datetime

from scraper.model import FetchResult
from scraper.parse import parse
from storage import SCHEMA_VERSION
from storage.archive import Archive, Outcome
from storage.migrations import migrations
from tests.conftest import fixture_bytes


def fetched(body: bytes, url="https://cops.usdoj.gov/buildingtrust") -> FetchResult:
    return FetchResult(url, url, 200, {"content-type": "text/html; charset=utf-8"}, body, datetime.now(UTC), 5.0)


def test_schema_version_matches_the_migrations(db_path):
    with Archive(db_path) as archive:
        assert archive.conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert len(migrations.applied(archive.db)) == SCHEMA_VERSION
        assert archive.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_record_page_then_same_content_is_unchanged(db):
    body = fixture_bytes("buildingtrust-newer.html")
    page = parse(body, "https://cops.usdoj.gov/buildingtrust")
    first = db.record_page("bt", fetched(body), page, "1")
    again = db.record_page("bt", fetched(body), page, "1")
    assert (first.outcome, again.outcome) == (Outcome.FIRST, Outcome.UNCHANGED)
    assert again.version_id == first.version_id
    assert db.conn.execute("SELECT COUNT(*) FROM events WHERE kind = 'added'").fetchone()[0] == 9
    stored = db.body(db.conn.execute("SELECT b.sha256 FROM versions v JOIN bodies b ON b.id = v.body_id").fetchone()[0])
    assert stored == body  # the evidence comes back byte for byte
    size = db.conn.execute("SELECT length(content) FROM bodies").fetchone()[0]
    assert size < len(body) / 2  # compressed


def test_failed_write_leaves_nothing_half_done(db, monkeypatch):
    body = fixture_bytes("buildingtrust-older.html")
    db.record_page("bt", fetched(body), parse(body, "https://cops.usdoj.gov/buildingtrust"), "1")
    newer = fixture_bytes("buildingtrust-newer.html")

    def boom(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(db, "_write_events", boom)
    try:
        db.record_page("bt", fetched(newer), parse(newer, "https://cops.usdoj.gov/buildingtrust"), "1")
    except RuntimeError:
        pass
    counts = [db.conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]
              for t in ("checks", "versions", "bodies", "version_publications")]
    assert counts == [1, 1, 1, 6]


def test_nightly_path_does_not_import_sqlite_utils(db_path):
    Archive(db_path).close()  # create and migrate
    code = (
        "import sys; from storage.archive import Archive; "
        f"a = Archive({str(db_path)!r}); a.last_good_body('bt'); a.close(); "
        "print('sqlite_utils' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_archive_opens_in_plain_sqlite(db_path):
    Archive(db_path).close()
    with sqlite3.connect(db_path) as conn:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type IN ('table', 'view')")}
    assert {"checks", "bodies", "versions", "publications", "publication_revisions", "version_publications",
            "spotlight_items", "events", "current_publications"} <= tables
