"""Questions asked of the archive's history, answered in plain SQL on the archive's connection.

Each function takes an open ``Archive`` and plain values (moments are timezone-aware datetimes;
``target=None`` means every target) and returns dicts, or yields them where lists can be long.
The SQL leans on the views of migration m003 (``publication_spans``, ``publication_timeline``,
``version_changes``) and on the ``publication_revisions_fts`` full-text index.
"""

import json
import os
from collections.abc import Iterator
from datetime import datetime

from storage.archive import Archive, iso
from storage.errors import NotFound


def _rows(archive: Archive, sql: str, params=()) -> Iterator[dict]:
    cursor = archive.conn.execute(sql, list(params))
    names = [d[0] for d in cursor.description]
    for row in cursor:
        yield dict(zip(names, row))


def _target_filter(target: str | None, column: str = "target") -> tuple[str, list]:
    return (f"{column} = ?", [target]) if target else ("1", [])


def version_at(archive: Archive, target: str, moment: datetime) -> dict:
    """The version of ``target`` current at ``moment``: the newest captured at or before it."""
    rows = list(_rows(
        archive,
        "SELECT * FROM versions WHERE target = ? AND captured_at <= ? ORDER BY captured_at DESC, id DESC LIMIT 1",
        [target, iso(moment)],
    ))
    if not rows:
        first = archive.conn.execute("SELECT MIN(captured_at) FROM versions WHERE target = ?", [target]).fetchone()[0]
        detail = f"the first was captured {first}" if first else "none archived yet"
        raise NotFound(archive.path, f"no version of {target!r} at {iso(moment)} ({detail})")
    return rows[0]


def _window(target: str | None, moment: str, since: datetime | None, until: datetime | None,
            prefix: str = "") -> tuple[str, list]:
    """A WHERE clause for one target (or all) and a time window on the ``moment`` column."""
    where, params = _target_filter(target, prefix + "target")
    if since:
        where, params = f"{where} AND {prefix}{moment} >= ?", [*params, iso(since)]
    if until:
        where, params = f"{where} AND {prefix}{moment} <= ?", [*params, iso(until)]
    return where, params


def history(
    archive: Archive, target: str | None = None, *, since: datetime | None = None,
    until: datetime | None = None, changes_only: bool = False,
) -> dict:
    """Checks and versions in a window, newest first; each check carries its version's summary.

    ``changes_only`` keeps the checks that created a version (outcome first or changed).
    """
    where, params = _window(target, "started_at", since, until, "c.")
    if changes_only:
        where += " AND c.outcome IN ('first', 'changed')"
    checks = list(_rows(
        archive,
        "SELECT c.check_id, c.target, c.started_at, c.outcome, c.reason, c.http_status, c.duration_ms, "
        "c.body_sha256, c.version_id, v.summary FROM check_details c "
        f"LEFT JOIN versions v ON v.check_id = c.check_id WHERE {where} ORDER BY c.check_id DESC",
        params,
    ))
    where, params = _window(target, "captured_at", since, until)
    versions = list(_rows(
        archive,
        "SELECT id AS version_id, target, captured_at, check_id, previous_version_id, publication_count, "
        f"summary, parser_version FROM versions WHERE {where} ORDER BY id DESC",
        params,
    ))
    return {"checks": checks, "versions": versions}


def new_since(archive: Archive, target: str | None, since: datetime | None) -> list[dict]:
    """Publications first seen at or after ``since``, with the version and time, oldest first."""
    where, params = _target_filter(target, "p.target")
    if since:
        where, params = f"{where} AND p.first_seen_at >= ?", [*params, iso(since)]
    return [{**row, "listed": bool(row["listed"])} for row in _rows(
        archive,
        "SELECT p.target, p.key, p.first_version_id AS version_id, p.first_version_id, p.first_seen_at, r.title, r.url, "
        "r.description, s.listed FROM publications p "
        "JOIN publication_revisions r ON r.id = (SELECT MIN(id) FROM publication_revisions "
        "                                          WHERE publication_id = p.id) "
        "JOIN publication_spans s ON s.publication_id = p.id "
        f"WHERE {where} ORDER BY p.first_seen_at, p.id",
        params,
    )]


def removed_since(archive: Archive, target: str | None, since: datetime | None) -> list[dict]:
    """Publications not listed now whose removal was captured at or after ``since``, oldest first.

    ``last_seen_at`` is the last successful check that read the page listing it;
    ``version_id`` (also ``removed_version_id``) and ``removed_at`` the first version without it.
    """
    where, params = _target_filter(target, "s.target")
    if since:
        where, params = f"{where} AND s.removed_at >= ?", [*params, iso(since)]
    return [
        {**row, "listed": bool(row["listed"])} for row in _rows(
            archive,
            "SELECT s.target, s.key, s.title, s.url, s.description, s.first_seen_at, s.last_version_id, "
            "s.last_seen_at, s.removed_version_id AS version_id, s.removed_version_id, s.removed_at, s.listed "
            "FROM publication_spans s "
            f"WHERE NOT s.listed AND {where} ORDER BY s.removed_at, s.key",
            params,
        )
    ]


def find_publication(archive: Archive, target: str, *, key: str | None = None, url: str | None = None) -> dict | None:
    """The publication with this key, or one ever listed at exactly this URL; None if neither."""
    if key:
        rows = list(_rows(archive, "SELECT * FROM publication_spans WHERE target = ? AND key = ?", [target, key]))
        if rows:
            return rows[0]
    if url:
        rows = list(_rows(
            archive,
            "SELECT s.* FROM publication_spans s WHERE s.target = ? AND s.publication_id IN "
            "(SELECT publication_id FROM publication_revisions WHERE url = ?) ORDER BY s.publication_id DESC LIMIT 1",
            [target, url],
        ))
        if rows:
            return rows[0]
    return None


def publication_timeline(archive: Archive, publication: dict) -> dict:
    """One publication's life: first/last seen, its revisions and every event, oldest first."""
    events = []
    for row in _rows(
        archive,
        "SELECT version_id, at, kind, changes, title, url FROM publication_timeline "
        "WHERE publication_id = ? ORDER BY version_id, kind",
        [publication["publication_id"]],
    ):
        fields = json.loads(row.pop("changes")) if row["changes"] else {}
        row["changes"] = {name: {"before": pair[0], "after": pair[1]} for name, pair in fields.items()}
        events.append(row)
    revisions = list(_rows(
        archive,
        "SELECT r.version_id, v.captured_at AS since, r.title, r.url, r.description "
        "FROM publication_revisions r JOIN versions v ON v.id = r.version_id "
        "WHERE r.publication_id = ? ORDER BY r.id",
        [publication["publication_id"]],
    ))
    versions = [row[0] for row in archive.conn.execute(
        "SELECT version_id FROM version_publications WHERE publication_id = ? ORDER BY version_id",
        [publication["publication_id"]],
    )]
    return {
        "target": publication["target"],
        "key": publication["key"],
        "title": publication["title"],
        "url": publication["url"],
        "description": publication["description"],
        "listed": bool(publication["listed"]),
        "first_version_id": publication["first_version_id"],
        "first_seen_at": publication["first_seen_at"],
        "last_version_id": publication["last_version_id"],
        "last_seen_at": publication["last_seen_at"],
        "removed_version_id": publication["removed_version_id"],
        "removed_at": publication["removed_at"],
        "version_count": len(versions),
        "revisions": revisions,
        "events": events,
    }


def fts_query(text: str) -> str:
    """User text as an FTS5 query: every word must appear; FTS5 operators are taken literally."""
    words = text.split()
    return " ".join('"' + word.replace('"', '""') + '"' for word in words)


def search(archive: Archive, text: str, target: str | None = None) -> list[dict]:
    """Every archived revision whose title or description matches, best first, with its versions."""
    query = fts_query(text)
    if not query:
        return []
    where, params = _target_filter(target, "p.target")
    results = []
    for row in _rows(
        archive,
        "SELECT p.target, p.key, r.id AS revision_id, r.title, r.url, r.description, "
        "  (SELECT group_concat(version_id) FROM (SELECT vp.version_id FROM version_publications vp "
        "     WHERE vp.revision_id = r.id ORDER BY vp.version_id)) AS versions, "
        "  (SELECT MIN(v.captured_at) FROM versions v JOIN version_publications vp ON vp.version_id = v.id "
        "     WHERE vp.revision_id = r.id) AS first_seen_at, "
        "  (SELECT MAX(v.captured_at) FROM versions v JOIN version_publications vp ON vp.version_id = v.id "
        "     WHERE vp.revision_id = r.id) AS last_captured_at "
        "FROM publication_revisions_fts f "
        "JOIN publication_revisions r ON r.rowid = f.rowid "
        "JOIN publications p ON p.id = r.publication_id "
        f"WHERE publication_revisions_fts MATCH ? AND {where} ORDER BY f.rank, r.id",
        [query, *params],
    ):
        row["versions"] = [int(v) for v in row["versions"].split(",")] if row["versions"] else []
        results.append(row)
    return results


EXPORT_FIELDS = (
    "target", "key", "title", "url", "description", "listed", "position",
    "first_version_id", "first_seen_at", "last_version_id", "last_seen_at",
    "removed_version_id", "removed_at", "revision_count", "version_count",
)


def export(archive: Archive, target: str | None = None) -> Iterator[dict]:
    """Every publication ever seen, with its latest title/URL/description and first/last seen."""
    where, params = _target_filter(target, "s.target")
    for row in _rows(
        archive,
        "SELECT s.target, s.key, s.title, s.url, s.description, s.listed, "
        "  (SELECT position FROM version_publications WHERE version_id = s.last_version_id "
        "     AND publication_id = s.publication_id AND s.listed) AS position, "
        "  s.first_version_id, s.first_seen_at, s.last_version_id, s.last_seen_at, "
        "  s.removed_version_id, s.removed_at, "
        "  (SELECT COUNT(*) FROM publication_revisions WHERE publication_id = s.publication_id) AS revision_count, "
        "  (SELECT COUNT(*) FROM version_publications WHERE publication_id = s.publication_id) AS version_count "
        f"FROM publication_spans s WHERE {where} ORDER BY s.target, s.first_seen_at, s.publication_id",
        params,
    ):
        row["listed"] = bool(row["listed"])
        yield row


def stats(archive: Archive, target: str | None = None) -> dict:
    """Counts, time span, archive size and how often the page changes."""
    where, params = _target_filter(target)
    one = lambda sql: archive.conn.execute(sql, params).fetchone()  # noqa: E731
    checks, first_check, last_check = one(f"SELECT COUNT(*), MIN(started_at), MAX(started_at) FROM checks WHERE {where}")
    outcomes = dict(archive.conn.execute(
        f"SELECT outcome, COUNT(*) FROM checks WHERE {where} GROUP BY outcome ORDER BY outcome", params).fetchall())
    versions, first_version, last_version = one(
        f"SELECT COUNT(*), MIN(captured_at), MAX(captured_at) FROM versions WHERE {where}")
    publications, listed = one(f"SELECT COUNT(*), COALESCE(SUM(listed), 0) FROM publication_spans WHERE {where}")
    events = dict(archive.conn.execute(
        f"SELECT kind, COUNT(*) FROM events WHERE {where} GROUP BY kind ORDER BY kind", params).fetchall())
    revisions = archive.conn.execute(
        "SELECT COUNT(*) FROM publication_revisions WHERE publication_id IN "
        f"(SELECT id FROM publications WHERE {where})", params).fetchone()[0]
    bodies, body_bytes, stored_bytes = archive.conn.execute(
        "SELECT COUNT(*), COALESCE(SUM(size), 0), COALESCE(SUM(LENGTH(content)), 0) FROM bodies").fetchone()
    span_days = None
    if first_check and last_check:
        span_days = round((datetime.fromisoformat(last_check) - datetime.fromisoformat(first_check)).total_seconds()
                          / 86400, 2)
    return {
        "target": target,
        "checks": checks,
        "outcomes": outcomes,
        "first_check_at": first_check,
        "last_check_at": last_check,
        "span_days": span_days,
        "versions": versions,
        "first_version_at": first_version,
        "last_version_at": last_version,
        "publications": publications,
        "publications_listed": listed,
        "publications_removed": publications - listed,
        "revisions": revisions,
        "events": events,
        "bodies": bodies,
        "body_bytes": body_bytes,
        "body_bytes_stored": stored_bytes,
        "archive_bytes": sum(os.path.getsize(p) for p in (archive.path, archive.path + "-wal") if os.path.exists(p)),
        "changes_per_year": round(max(versions - 1, 0) / (span_days / 365.25), 2) if span_days else None,
        "mean_days_between_versions": round(span_days / (versions - 1), 2) if span_days and versions > 1 else None,
    }
