"""The alert outbox: one row per (publication event or operator alert, channel) in ``deliveries``.

Publication deliveries are enqueued inside the transaction that records their events, so an event
and its deliveries exist together or not at all; delivery (``notify/``) happens after the commit and
marks each row sent right after the channel accepted it. Channels arrive as plain ``Subscription``
values: storage never sees a channel's URL.

A delivery carries a copy of its event (``payload``) and an idempotency key made of what the event
*is* — the check that recorded it, its kind, the publication key, the channel — not of row ids: re-
deriving history (``reparse`` deletes and rebuilds events, and SQLite reuses freed row ids) can then
neither orphan a pending alert nor make a new event look already sent.
"""

import json
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

PUBLICATION_KINDS = ("added", "reappeared", "removed", "modified", "moved")
DEFAULT_KINDS = frozenset({"added", "reappeared", "removed"})
OPERATOR_KINDS = ("anomaly", "failing", "recovered")
BAD_OUTCOMES = ("failed", "anomaly")


@dataclass(frozen=True)
class Subscription:
    """A channel as storage knows it: an id, a masked display form and the event kinds it wants."""

    channel_id: str
    channel: str
    kinds: frozenset[str] = DEFAULT_KINDS


@dataclass(frozen=True)
class PublicationEvent:
    event_id: int  # the events row, as recorded (history re-derivation may renumber events)
    check_id: int  # the check that recorded the event's version
    target: str
    kind: str
    key: str
    title: str
    url: str
    description: str
    first_seen_at: str
    at: str  # when the event was recorded (the capture time of its version)
    page_url: str
    changes: dict | None  # {field: [before, after]} for modified and moved

    def public(self) -> dict:
        return {
            "event_id": self.event_id, "check_id": self.check_id, "target": self.target, "kind": self.kind, "key": self.key,
            "title": self.title, "url": self.url, "description": self.description,
            "first_seen_at": self.first_seen_at, "at": self.at, "page_url": self.page_url,
            "changes": self.changes,
        }


@dataclass(frozen=True)
class Delivery:
    id: int
    target: str
    kind: str
    channel_id: str
    channel: str
    status: str
    attempts: int
    last_error: str | None
    created_at: str
    last_attempt_at: str | None
    sent_at: str | None
    check_id: int | None
    event: PublicationEvent | None  # None for operator alerts
    check_at: str | None = None  # operator alerts: the check they are about
    check_url: str | None = None
    check_reason: str | None = None
    streak: int = 0  # operator alerts: how many bad checks in a row, this one included (or before it)

    def public(self) -> dict:
        return {
            "id": self.id, "target": self.target, "kind": self.kind, "channel_id": self.channel_id,
            "channel": self.channel, "status": self.status, "attempts": self.attempts,
            "last_error": self.last_error, "created_at": self.created_at,
            "last_attempt_at": self.last_attempt_at, "sent_at": self.sent_at, "check_id": self.check_id,
            "event": self.event.public() if self.event else None,
        }


def now(after: timedelta = timedelta()) -> str:
    return (datetime.now(UTC) + after).isoformat(timespec="milliseconds")


def enqueue_events(conn: sqlite3.Connection, version_id: int, subscriptions, at: str) -> None:
    """One pending delivery per (event of this version, subscription wanting its kind)."""
    if not subscriptions:
        return
    events = [_event(row) for row in conn.execute(
        f"SELECT {_EVENT_COLUMNS} FROM events e {_EVENT_JOINS} WHERE e.version_id = ? ORDER BY e.id", [version_id])]
    for s in subscriptions:
        for e in events:
            if e.kind in s.kinds and e.kind in PUBLICATION_KINDS:
                conn.execute(
                    "INSERT OR IGNORE INTO deliveries (idempotency_key, target, event_id, check_id, kind, channel_id, "
                    "channel, status, attempts, created_at, payload) VALUES (?, ?, ?, ?, ?, ?, ?, 'pending', 0, ?, ?)",
                    [f"event:{e.check_id}:{e.kind}:{e.key}:{s.channel_id}", e.target, e.event_id, e.check_id,
                     e.kind, s.channel_id, s.channel, at, json.dumps(e.public(), ensure_ascii=False)],
                )


def operator_alert(conn: sqlite3.Connection, target: str, check_id: int, streak: int) -> str | None:
    """The operator alert this check calls for, decided from the target's checks alone.

    ``anomaly``: the first anomaly of a run of anomalies. ``failing``: the check that makes ``streak``
    failed checks since the last good one (so once per streak). ``recovered``: the first good check
    after a bad run that alerted.
    """
    rows = [row[0] for row in conn.execute(
        "SELECT outcome FROM checks WHERE target = ? AND id <= ? AND id > COALESCE("
        " (SELECT MAX(id) FROM checks WHERE target = ? AND id < ? AND outcome NOT IN (?, ?)), 0) ORDER BY id",
        [target, check_id, target, check_id, *BAD_OUTCOMES],
    )]
    if not rows:
        return None
    current, before = rows[-1], rows[:-1]
    if current == "anomaly":
        return "anomaly" if not before or before[-1] != "anomaly" else None
    if current == "failed":
        return "failing" if rows.count("failed") == streak else None
    if "anomaly" in before or before.count("failed") >= streak:
        return "recovered"
    return None


def enqueue_operator(archive, target: str, check_id: int, kind: str, subscriptions) -> None:
    with archive.transaction():
        for s in subscriptions:
            archive.conn.execute(
                "INSERT OR IGNORE INTO deliveries (idempotency_key, target, check_id, kind, channel_id, channel, "
                "status, attempts, created_at) VALUES (?, ?, ?, ?, ?, ?, 'pending', 0, ?)",
                [f"operator:{kind}:{check_id}:{s.channel_id}", target, check_id, kind, s.channel_id, s.channel, now()],
            )


_EVENT_COLUMNS = (
    "e.id, v.check_id, e.target, e.kind, p.key, r.title, r.url, r.description, p.first_seen_at, e.created_at, "
    "v.url, e.changes"
)
# The publication as its event's version knew it: its newest revision up to that version.
_EVENT_JOINS = (
    "JOIN publications p ON p.id = e.publication_id "
    "JOIN versions v ON v.id = e.version_id "
    "JOIN publication_revisions r ON r.id = (SELECT MAX(id) FROM publication_revisions "
    " WHERE publication_id = p.id AND version_id <= e.version_id)"
)


def _event(row) -> PublicationEvent:
    return PublicationEvent(*row[:11], changes=json.loads(row[11]) if row[11] else None)


def deliveries(archive, *, pending_only: bool = False, channel_ids=None, target: str | None = None) -> list[Delivery]:
    """Deliveries in the order they were enqueued; optionally only pending ones, for some channels."""
    where, params = ["1"], []
    if pending_only:
        where.append("d.status = 'pending'")
    if channel_ids is not None:
        channel_ids = list(channel_ids)
        where.append(f"d.channel_id IN ({', '.join('?' * len(channel_ids))})")
        params += channel_ids
    if target is not None:
        where.append("d.target = ?")
        params.append(target)
    rows = archive.conn.execute(
        "SELECT d.id, d.target, d.kind, d.channel_id, d.channel, d.status, d.attempts, d.last_error, d.created_at, "
        "d.last_attempt_at, d.sent_at, d.check_id, c.started_at, c.url, c.reason, d.payload "
        f"FROM deliveries d LEFT JOIN checks c ON c.id = d.check_id WHERE {' AND '.join(where)} ORDER BY d.id",
        params,
    ).fetchall()
    result = []
    for row in rows:
        streak = 0
        if row[15] is None and row[11] is not None:
            streak = _bad_run(archive.conn, row[1], row[11], row[2])
        event = PublicationEvent(**json.loads(row[15])) if row[15] else None
        result.append(Delivery(*row[:12], event=event, check_at=row[12], check_url=row[13],
                               check_reason=row[14], streak=streak))
    return result


def _bad_run(conn, target: str, check_id: int, kind: str) -> int:
    """Bad checks in the run the alert is about: up to this check, or (recovered) just before it."""
    last = check_id if kind != "recovered" else check_id - 1
    return conn.execute(
        "SELECT COUNT(*) FROM checks WHERE target = ? AND id <= ? AND outcome IN (?, ?) AND id > COALESCE("
        " (SELECT MAX(id) FROM checks WHERE target = ? AND id <= ? AND outcome NOT IN (?, ?)), 0)",
        [target, last, *BAD_OUTCOMES, target, last, *BAD_OUTCOMES],
    ).fetchone()[0]


def claim(archive, ids, lease: timedelta = timedelta(minutes=10)) -> list[int]:
    """Claim pending rows for one sending, so a second process delivering at the same time skips them.

    A claim expires after ``lease``, so a deliverer that died mid-send never blocks a row for good.
    """
    claimed = []
    with archive.transaction():
        for delivery_id in ids:
            cursor = archive.conn.execute(
                "UPDATE deliveries SET claimed_until = ? WHERE id = ? AND status = 'pending' "
                "AND (claimed_until IS NULL OR claimed_until < ?)",
                [now(lease), delivery_id, now()],
            )
            if cursor.rowcount:
                claimed.append(delivery_id)
    return claimed


def mark_sent(archive, ids) -> None:
    _mark(archive, ids, "status = 'sent', sent_at = :at, last_error = NULL")


def mark_failed(archive, ids, error: str) -> None:
    _mark(archive, ids, "last_error = :error", error=error)


def _mark(archive, ids, assignments: str, **values) -> None:
    with archive.transaction():
        for delivery_id in ids:
            archive.conn.execute(
                f"UPDATE deliveries SET {assignments}, attempts = attempts + 1, last_attempt_at = :at, "
                "claimed_until = NULL "
                "WHERE id = :id AND status = 'pending'",
                {"at": now(), "id": delivery_id, **values},
            )


def feed_events(archive, target: str | None = None, limit: int = 100) -> list[PublicationEvent]:
    """Newest publication events first, leaving out each target's baseline (its first version)."""
    where, params = "v.previous_version_id IS NOT NULL", []
    if target is not None:
        where += " AND e.target = ?"
        params.append(target)
    return [
        _event(row)
        for row in archive.conn.execute(
            f"SELECT {_EVENT_COLUMNS} FROM events e {_EVENT_JOINS} WHERE {where} ORDER BY e.id DESC LIMIT ?",
            [*params, limit],
        )
    ]
