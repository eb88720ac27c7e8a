"""Packed bodies and version texts (m005): exact bytes back, old rows still readable, damage detected."""

import hashlib
import sqlite3
import zlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bench.synth import check, simulate
from storage import packing
from storage.archive import Archive
from storage.errors import ArchiveError
from storage.migrations import migrations

lines = st.lists(st.binary(max_size=40).map(lambda b: b.replace(b"\n", b"")), max_size=40)


@settings(max_examples=60, deadline=None)
@given(lines, lines, st.sampled_from([b"\n", b"\r\n", b"\r"]))
def test_delta_gives_back_the_exact_bytes(old, new, newline):
    base, data = newline.join(old), newline.join(new) + (newline if new else b"")
    assert packing.undelta(packing.delta(data, base), base) == data
    compression, content = packing.pack(data, base)
    assert packing.unpack(compression, content, base) == data


def nights(n: int):
    return [night for night in simulate(n, seed=5, publications=80, failure_rate=0) if night.kind != "same"]


def test_changed_pages_are_stored_as_small_deltas_and_read_back_exactly(db_path):
    changed = nights(200)
    with Archive(db_path) as archive:
        for night in changed:
            check(archive, night.body, night.when)
        rows = archive.conn.execute("SELECT sha256, size, compression, LENGTH(content) FROM bodies").fetchall()
        assert {r[2] for r in rows} == {"zlib", "zlib-delta"}
        delta_sizes = [r[3] / r[1] for r in rows if r[2] == "zlib-delta"]
        assert max(delta_sizes) < 0.1  # a few lines changed: a few per cent of the raw page
        assert {archive.body(r[0]) for r in rows} == {n.body for n in changed}
        texts = archive.conn.execute("SELECT DISTINCT text_compression FROM versions").fetchall()
        assert {t[0] for t in texts} <= {"zlib", "zlib-delta"}
        latest = archive.version_row(None, "buildingtrust")
        assert latest["text"].startswith("Building Trust")  # unpacked for every reader


def test_rows_written_before_m005_stay_readable(db_path):
    body = nights(30)[0].body
    conn = sqlite3.connect(db_path)
    from sqlite_utils import Database

    db = Database(conn)
    migrations.apply(db, stop_before="m005_packed_bodies_and_texts")
    conn.close()
    old = sqlite3.connect(db_path)  # rows as the code before m005 wrote them: zlib bodies, plain text
    assert "base_id" not in {row[1] for row in old.execute("PRAGMA table_info(bodies)")}
    old.execute("INSERT INTO bodies (sha256, size, compression, content, first_stored_at) VALUES (?, ?, 'zlib', ?, ?)",
                [hashlib.sha256(body).hexdigest(),
                 len(body), zlib.compress(body, 9), "2016-01-01T03:00:00.000+00:00"])
    old.execute("INSERT INTO versions (target, captured_at, text, publication_count) VALUES ('bt', '2016', 'plain old text', 0)")
    old.commit()
    old.close()
    with Archive(db_path) as archive:  # opening applies m005
        assert "base_id" in {row[1] for row in archive.conn.execute("PRAGMA table_info(bodies)")}
        digest = archive.conn.execute("SELECT sha256 FROM bodies").fetchone()[0]
        assert archive.body(digest) == body
        assert archive.version_row(1, "bt")["text"] == "plain old text"


def test_a_damaged_body_is_reported_not_returned(db_path):
    changed = nights(120)
    with Archive(db_path) as archive:
        for night in changed[:3]:
            check(archive, night.body, night.when)
        digest, body_id = archive.conn.execute("SELECT sha256, id FROM bodies WHERE compression = 'zlib'").fetchone()
        archive.conn.execute("UPDATE bodies SET content = ? WHERE id = ?",
                             [zlib.compress(b"<html>forged</html>"), body_id])
        archive.conn.commit()
        with pytest.raises(ArchiveError, match="does not match its SHA-256"):
            archive.body(digest)
        later = archive.conn.execute("SELECT sha256 FROM bodies WHERE base_id = ?", [body_id]).fetchone()
        if later:  # a delta on the damaged base is damaged too, and says so
            with pytest.raises(ArchiveError):
                archive.body(later[0])
