"""m002: an archive written before the anomaly guard upgrades in place and keeps its checks."""

import sqlite3

from sqlite_utils import Database

from storage import SCHEMA_VERSION
from storage.archive import Archive
from storage.migrations import migrations


def test_m002_upgrades_an_archive_written_before_it(db_path):
    db = Database(str(db_path))
    migrations.apply(db, stop_before="m002_check_judgement")
    db["checks"].insert({"target": "t", "url": "https://x/", "started_at": "2026-01-01T00:00:00.000+00:00",
                         "outcome": "failed", "reason": "HTTP 503"})
    db.close()
    with Archive(db_path) as archive:
        assert archive.conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert archive.history("t")["checks"][0]["reason"] == "HTTP 503"
    with sqlite3.connect(db_path) as conn:
        assert conn.execute("SELECT outcome, anomaly, keys_sha256 FROM check_details").fetchall() == \
            [("failed", None, None)]
