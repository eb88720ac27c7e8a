"""The archive's schema, as append-only sqlite-utils migrations applied when an archive opens.

Never edit a migration that has shipped: add ``m00N_…`` after the last one. Each migration also sets
``PRAGMA user_version`` to its number, so any SQLite tool shows the schema version.
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
    db["version_publications"].create(
        {"version_id": int, "publication_id": int, "revision_id": int, "position": int},
        pk=("version_id", "publication_id"),
        foreign_keys=[
            ("version_id", "versions", "id"),
            ("publication_id", "publications", "id"),
            ("revision_id", "publication_revisions", "id"),
        ],
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
    db.execute("PRAGMA user_version = 1")


@migrations()
def m007_packed_bodies_and_texts(db: Database) -> None:
    """Bodies and version texts may be stored as a line delta against a standalone base row.

    ``bodies.base_id`` names the body a ``zlib-delta`` body is packed against; ``versions.text`` holds
    plain text when ``text_compression`` is NULL (every row before this migration), else packed bytes
    (``zlib``, or ``zlib-delta`` against version ``text_base_id``). See storage/packing.py.
    """
    db.execute("ALTER TABLE bodies ADD COLUMN base_id INTEGER REFERENCES bodies(id)")
    db.execute("ALTER TABLE versions ADD COLUMN text_compression TEXT")
    db.execute("ALTER TABLE versions ADD COLUMN text_base_id INTEGER REFERENCES versions(id)")
    db.execute("PRAGMA user_version = 2")  # its position in this branch; the lead renumbers at merge
