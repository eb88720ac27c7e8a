"""The archive's schema, as append-only sqlite-utils migrations applied when an archive opens.

Never edit a migration that has shipped: add ``m00N_…`` after the last one and raise
``storage.SCHEMA_VERSION`` to the new count. Opening an archive applies what is pending and sets
``PRAGMA user_version`` to that count, so any SQLite tool shows the schema version.
"""

from sqlite_utils import Database, Migrations

migrations = Migrations("copswatch")


@migrations()
def m001_initial(db: Database) -> None:
    db["bodies"].create(
        {"id": int, "sha256": str, "size": int, "compression": str, "content": bytes, "first_stored_at": str},
        pk="id",
        not_null={"sha256", "content"},
    )
    db["bodies"].create_index(["sha256"], unique=True)
    db["checks"].create(
        {
            "id": int,
            "target": str,
            "url": str,
            "started_at": str,
            "duration_ms": float,
            "outcome": str,
            "reason": str,
            "http_status": int,
            "final_url": str,  # NULL when no redirect changed it
            "redirects": str,
            "content_type": str,
            "etag": str,
            "last_modified": str,
            "body_id": int,
            "parser_version": str,
            "version_id": int,
        },
        pk="id",
        foreign_keys=[("body_id", "bodies", "id")],
    )
    db["versions"].create(
        {
            "id": int,
            "target": str,
            "check_id": int,
            "previous_version_id": int,
            "captured_at": str,
            "url": str,
            "title": str,
            "heading": str,
            "intro": str,
            "text": str,
            "publication_count": int,
            "summary": str,
            "content_sha256": str,
            "body_id": int,
            "parser_version": str,
        },
        pk="id",
        foreign_keys=[("check_id", "checks", "id"), ("body_id", "bodies", "id")],
    )
    db["publications"].create(
        {
            "id": int,
            "target": str,
            "key": str,
            "first_version_id": int,
            "first_seen_at": str,
            "last_version_id": int,
        },
        pk="id",
    )
    db["publications"].create_index(["target", "key"], unique=True)
    # One row per distinct (title, url, description) a publication has had: git-history style.
    db["publication_revisions"].create(
        {"id": int, "publication_id": int, "version_id": int, "title": str, "url": str, "description": str},
        pk="id",
        foreign_keys=[("publication_id", "publications", "id"), ("version_id", "versions", "id")],
    )
    db["publication_revisions"].create_index(["publication_id"])
    # Which publications a version listed, where, and as which revision.
    # WITHOUT ROWID: the primary key is the table, not a second B-tree beside it — these rows are
    # most of what a new version costs (66 a night on the real page's scale).
    db.execute(
        """
        CREATE TABLE version_publications (
            version_id INTEGER NOT NULL REFERENCES versions(id),
            publication_id INTEGER NOT NULL REFERENCES publications(id),
            revision_id INTEGER REFERENCES publication_revisions(id),
            position INTEGER,
            PRIMARY KEY (version_id, publication_id)
        ) WITHOUT ROWID
        """
    )
    db["version_publications"].create_index(["publication_id"])
    db["spotlight_items"].create(
        {"version_id": int, "position": int, "url": str, "image": str, "title": str},
        pk=("version_id", "position"),
        foreign_keys=[("version_id", "versions", "id")],
    )
    # Publication-level events between a version and the one before it.
    db["events"].create(
        {
            "id": int,
            "target": str,
            "version_id": int,
            "publication_id": int,
            "kind": str,
            "changes": str,
            "created_at": str,
        },
        pk="id",
        foreign_keys=[("version_id", "versions", "id"), ("publication_id", "publications", "id")],
    )
    db["events"].create_index(["version_id"])
    db["checks"].create_index(["version_id"])
    db["versions"].create_index(["target", "id"])
    db.execute(
        """
        CREATE VIEW current_publications AS
        SELECT v.target, vp.position, p.key, r.title, r.url, r.description,
               p.first_seen_at, v.id AS version_id, v.captured_at
        FROM versions v
        JOIN version_publications vp ON vp.version_id = v.id
        JOIN publications p ON p.id = vp.publication_id
        JOIN publication_revisions r ON r.id = vp.revision_id
        WHERE v.id = (SELECT MAX(id) FROM versions WHERE target = v.target)
        ORDER BY v.target, vp.position
        """
    )
    db.execute(
        """
        CREATE VIEW version_publication_details AS
        SELECT vp.version_id, v.target, v.captured_at, vp.position, p.key,
               r.title, r.url, r.description
        FROM version_publications vp
        JOIN versions v ON v.id = vp.version_id
        JOIN publications p ON p.id = vp.publication_id
        JOIN publication_revisions r ON r.id = vp.revision_id
        """
    )
    db.execute(
        """
        CREATE VIEW check_details AS
        SELECT c.id AS check_id, c.target, c.url, c.started_at, c.duration_ms, c.outcome, c.reason,
               c.http_status, COALESCE(c.final_url, c.url) AS final_url, c.redirects, c.content_type,
               c.etag, c.last_modified, b.sha256 AS body_sha256, b.size AS body_size,
               c.parser_version, c.version_id
        FROM checks c LEFT JOIN bodies b ON b.id = c.body_id
        """
    )


@migrations()
def m002_check_judgement(db: Database) -> None:
    """Issue 3: which anomaly rule rejected a check, and a digest of the publication keys its page listed
    (a later check listing the same keys confirms a large removal)."""
    db["checks"].add_column("anomaly", str)
    db["checks"].add_column("keys_sha256", str)
    db.execute("DROP VIEW check_details")
    db.execute(
        """
        CREATE VIEW check_details AS
        SELECT c.id AS check_id, c.target, c.url, c.started_at, c.duration_ms, c.outcome, c.reason,
               c.http_status, COALESCE(c.final_url, c.url) AS final_url, c.redirects, c.content_type,
               c.etag, c.last_modified, b.sha256 AS body_sha256, b.size AS body_size,
               c.parser_version, c.version_id, c.anomaly, c.keys_sha256
        FROM checks c LEFT JOIN bodies b ON b.id = c.body_id
        """
    )


@migrations()
def m003_query_views(db: Database) -> None:
    """Issue 4: indexes for date-bounded queries, full-text search and views for the common questions."""
    db["versions"].create_index(["target", "captured_at"])
    db["checks"].create_index(["target", "started_at"])
    db["events"].create_index(["publication_id"])
    db["publication_revisions"].create_index(["url"])
    db["publications"].create_index(["target", "first_seen_at"])
    db["version_publications"].create_index(["revision_id"])
    # Every title and description ever archived; the triggers keep the index in step with new rows.
    db["publication_revisions"].enable_fts(["title", "description"], create_triggers=True)
    db.execute(
        """
        CREATE VIEW publication_spans AS
        SELECT p.id AS publication_id, p.target, p.key,
               p.first_version_id, p.first_seen_at,
               p.last_version_id,
               (SELECT MAX(c.started_at) FROM checks c
                 WHERE c.version_id = p.last_version_id AND c.outcome IN ('first', 'changed', 'unchanged'))
                 AS last_seen_at,
               p.last_version_id = (SELECT MAX(id) FROM versions WHERE target = p.target) AS listed,
               (SELECT MIN(v.id) FROM versions v WHERE v.target = p.target AND v.id > p.last_version_id)
                 AS removed_version_id,
               (SELECT v.captured_at FROM versions v WHERE v.target = p.target AND v.id > p.last_version_id
                 ORDER BY v.id LIMIT 1) AS removed_at,
               r.title, r.url, r.description
        FROM publications p
        JOIN publication_revisions r
          ON r.id = (SELECT MAX(id) FROM publication_revisions WHERE publication_id = p.id)
        """
    )
    db.execute(
        """
        CREATE VIEW publication_timeline AS
        SELECT e.target, p.key, e.publication_id, e.version_id, v.captured_at AS at, e.kind, e.changes,
               r.title, r.url
        FROM events e
        JOIN publications p ON p.id = e.publication_id
        JOIN versions v ON v.id = e.version_id
        LEFT JOIN publication_revisions r
          ON r.id = (SELECT MAX(id) FROM publication_revisions
                      WHERE publication_id = e.publication_id AND version_id <= e.version_id)
        """
    )
    db.execute(
        """
        CREATE VIEW version_changes AS
        SELECT v.id AS version_id, v.target, v.captured_at, v.previous_version_id, v.publication_count,
               v.summary,
               COUNT(e.id) FILTER (WHERE e.kind = 'added') AS added,
               COUNT(e.id) FILTER (WHERE e.kind = 'reappeared') AS reappeared,
               COUNT(e.id) FILTER (WHERE e.kind = 'removed') AS removed,
               COUNT(e.id) FILTER (WHERE e.kind = 'modified') AS modified,
               COUNT(e.id) FILTER (WHERE e.kind = 'moved') AS moved
        FROM versions v LEFT JOIN events e ON e.version_id = v.id
        GROUP BY v.id
        """
    )


@migrations()
def m004_deliveries(db: Database) -> None:
    # The alert outbox (issue 5). A row is enqueued in the transaction that records its event (or, for
    # operator alerts, right after the check) and is delivered after the commit. Channels are named by
    # an id (a hash of the channel URL) and a masked display form: the URL itself, which may hold
    # passwords or tokens, is never stored.
    db["deliveries"].create(
        {
            "id": int,
            # event:<check id>:<kind>:<publication key>:<channel id>, or operator:<kind>:<check id>:<channel id>
            "idempotency_key": str,
            "target": str,
            "event_id": int,  # NULL for operator alerts
            "check_id": int,  # the check the alert is about (operator alerts) or that recorded the event
            "kind": str,  # added/reappeared/removed/modified/moved, or anomaly/failing/recovered
            "channel_id": str,
            "channel": str,  # masked display form, e.g. mailto://user:****@host
            "status": str,  # pending or sent
            "attempts": int,
            "last_error": str,
            "created_at": str,
            "last_attempt_at": str,
            "sent_at": str,
            "claimed_until": str,  # a deliverer is sending it until then; another one leaves it alone
            "payload": str,  # the event as JSON (title, url, description, first seen, changes…), as recorded
        },
        pk="id",
        not_null={"idempotency_key", "target", "kind", "channel_id", "status", "attempts", "created_at"},
        defaults={"status": "pending", "attempts": 0},
        # No foreign key to events: re-deriving history rebuilds them; the payload keeps what was alerted.
        foreign_keys=[("check_id", "checks", "id")],
    )
    db["deliveries"].create_index(["idempotency_key"], unique=True)
    db["deliveries"].create_index(["status", "channel_id"])


@migrations()
def m005_packed_bodies_and_texts(db: Database) -> None:
    """Issue 8: bodies and version texts may be stored as a line delta against a standalone base row.

    ``bodies.base_id`` names the body a ``zlib-delta`` body is packed against; ``versions.text`` holds
    plain text when ``text_compression`` is NULL (every row before this migration), else packed bytes
    (``zlib``, or ``zlib-delta`` against version ``text_base_id``). See storage/packing.py.

    Also drops the ``checks(target, started_at)`` index: it was 58 of the 224 bytes every unchanged
    night added, and on a decade (3,650 checks) every query answers as fast without it (BENCHMARKS.md,
    archive growth); the ``--since`` windows scan a few thousand rows in about a millisecond.
    """
    db.execute("ALTER TABLE bodies ADD COLUMN base_id INTEGER REFERENCES bodies(id)")
    db.execute("ALTER TABLE versions ADD COLUMN text_compression TEXT")
    db.execute("ALTER TABLE versions ADD COLUMN text_base_id INTEGER REFERENCES versions(id)")
    db.execute("DROP INDEX IF EXISTS idx_checks_target_started_at")
