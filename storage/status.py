"""Read-only questions about a target's health, for `copswatch status` and the scheduler's catch-up.

Reads the archive only. ``pending_alerts`` counts rows of the ``deliveries`` table (alert
deliveries not yet made); an archive without that table has none.
"""

from datetime import datetime

from storage.archive import Archive, Outcome

_GOOD = (Outcome.FIRST, Outcome.CHANGED, Outcome.UNCHANGED)


def last_success_at(archive: Archive, target: str) -> datetime | None:
    """When the target's newest successful check started (UTC), or None if it never succeeded."""
    row = archive.conn.execute(
        "SELECT MAX(started_at) FROM checks WHERE target = ? AND outcome IN (?, ?, ?)", [target, *_GOOD]
    ).fetchone()
    return datetime.fromisoformat(row[0]) if row[0] else None


def target_status(archive: Archive, target: str) -> dict:
    conn = archive.conn
    last = conn.execute(
        "SELECT id, started_at, outcome, reason FROM checks WHERE target = ? ORDER BY id DESC LIMIT 1", [target]
    ).fetchone()
    success = last_success_at(archive, target)
    version = conn.execute(
        "SELECT id, captured_at, publication_count, summary FROM versions WHERE target = ? ORDER BY id DESC LIMIT 1",
        [target],
    ).fetchone()
    last_good_id = conn.execute(
        "SELECT COALESCE(MAX(id), 0) FROM checks WHERE target = ? AND outcome IN (?, ?, ?)", [target, *_GOOD]
    ).fetchone()[0]
    streak = conn.execute("SELECT COUNT(*) FROM checks WHERE target = ? AND id > ?", [target, last_good_id]).fetchone()[0]
    return {
        "last_check_id": last[0] if last else None,
        "last_check_at": last[1] if last else None,
        "last_outcome": last[2] if last else None,
        "last_reason": last[3] if last else None,
        "last_success_at": success.isoformat(timespec="milliseconds") if success else None,
        "last_change_version_id": version[0] if version else None,
        "last_change_at": version[1] if version else None,
        "last_change_summary": version[3] if version else None,
        "publication_count": version[2] if version else None,
        "failure_streak": streak,
        "pending_alerts": pending_alerts(archive, target),
    }


def pending_alerts(archive: Archive, target: str) -> int:
    conn = archive.conn
    if not conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'deliveries'").fetchone():
        return 0
    columns = {row[1] for row in conn.execute("PRAGMA table_info(deliveries)")}
    # The table belongs to the alerting stage; find the target through whichever link it has.
    if "target" in columns:
        where = "target = ?"
    elif "check_id" in columns:
        where = "check_id IN (SELECT id FROM checks WHERE target = ?)"
    elif "version_id" in columns:
        where = "version_id IN (SELECT id FROM versions WHERE target = ?)"
    else:
        return conn.execute("SELECT COUNT(*) FROM deliveries WHERE status = 'pending'").fetchone()[0]
    return conn.execute(f"SELECT COUNT(*) FROM deliveries WHERE status = 'pending' AND {where}", [target]).fetchone()[0]


def schema_version(archive: Archive) -> int:
    return archive.conn.execute("PRAGMA user_version").fetchone()[0]
