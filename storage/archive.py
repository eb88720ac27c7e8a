"""The archive: one SQLite file holding every check, every raw body and every version of the page.

- Every check is a row in ``checks``, failed ones too.
- Raw bodies are stored once each in ``bodies``, keyed by SHA-256, zlib-compressed or packed as a
  line delta against an earlier standalone body (``storage/packing.py``); reading checks the SHA-256.
- A row in ``versions`` is added only when the parsed content changes (its ``content_sha256``
  differs from the current version's), so "did it change" is derived from hashes, never a flag.
- Each version's publications are rows (``version_publications`` → ``publications`` and
  ``publication_revisions``), and publication events between versions are rows in ``events``.

All writes of one check happen in one transaction. Receives plain values, never fetches or parses.
"""

import hashlib
import json
import os
import sqlite3
import zlib
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from enum import StrEnum
from functools import cached_property
from typing import TYPE_CHECKING

from scraper.model import FetchResult, Page
from storage import SCHEMA_VERSION
from storage.diff import Changes, Listed, diff
from storage.errors import ArchiveError, NotFound
from storage.packing import DELTA, pack, unpack

if TYPE_CHECKING:  # the outbox is imported only to enqueue: never on an unchanged night
    from storage.outbox import Subscription

# The anomaly rule a later check can overrule by listing the same publications again (schedules/guard.py).
LARGE_REMOVAL = "large-removal"
TRUNCATED = "truncated"
PENDING_RULES = (LARGE_REMOVAL, TRUNCATED)  # anomalies that a second check listing the same confirms


class Outcome(StrEnum):
    FIRST = "first"  # the first version of this target
    CHANGED = "changed"  # a new version
    UNCHANGED = "unchanged"  # same content as the current version
    FAILED = "failed"  # the fetch failed; the current version stays
    ANOMALY = "anomaly"  # a page came back but is not believable; the current version stays


@dataclass(frozen=True)
class CheckResult:
    check_id: int
    target: str
    url: str
    started_at: str
    outcome: Outcome
    version_id: int | None
    changes: Changes = field(default_factory=Changes)
    reason: str | None = None

    def public(self) -> dict:
        return {
            "check_id": self.check_id,
            "target": self.target,
            "url": self.url,
            "started_at": self.started_at,
            "outcome": str(self.outcome),
            "version_id": self.version_id,
            "reason": self.reason,
            "summary": self.changes.summary() if self.outcome in (Outcome.FIRST, Outcome.CHANGED) else None,
            "changes": self.changes.public(),
        }


def iso(moment: datetime) -> str:
    """Every timestamp is stored as ISO 8601 in UTC, to the millisecond, so text order is time order."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds")


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def keys_digest(keys) -> str:
    """Digest of a set of publication keys: two checks listing the same publications have the same one."""
    return sha256("\n".join(sorted(keys)).encode())


@dataclass(frozen=True)
class CurrentState:
    """What the anomaly guard needs to know about a target, as plain values."""

    keys: frozenset[str] | None  # the current version's publication keys; None before the first version
    content_sha256: str | None  # the current version's content hash
    pending_removal: str | None  # keys digest of the last parsed check, when it was a removal held for confirmation


def content_hash(page: Page) -> str:
    """Hash of everything the page says, and nothing about how its markup says it."""
    content = {
        "title": page.title,
        "heading": page.heading,
        "intro": page.intro,
        "text": page.text,
        "publications": [[p.key, p.title, p.url, p.description] for p in page.publications],
        "spotlight": [[s.url, s.image, s.title] for s in page.spotlight],
    }
    return sha256(json.dumps(content, ensure_ascii=False, sort_keys=True).encode())


class Archive:
    """An open archive. Opening creates or upgrades the schema; ``create=False`` requires the file.

    The per-night path (open, a check row, a body) uses plain sqlite3; sqlite-utils, slow to import,
    is loaded only to write a new version or to apply migrations.
    """

    def __init__(self, path: str | os.PathLike, *, create: bool = True):
        self.path = str(path)
        if os.path.isdir(self.path):
            raise ArchiveError(self.path, "is a directory, not an archive file")
        if not os.path.exists(self.path):
            if not create:
                raise ArchiveError(self.path, "no archive here yet (run `copswatch run` first)")
            parent = os.path.dirname(os.path.abspath(self.path))
            if not os.path.isdir(parent):
                raise ArchiveError(self.path, f"directory {parent} does not exist")
        try:
            self.conn = sqlite3.connect(self.path, timeout=10)
            self._check_is_ours()
            if self.conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                self.conn.execute("PRAGMA journal_mode = wal")
            schema = self.conn.execute("PRAGMA user_version").fetchone()[0]
            if schema > SCHEMA_VERSION:
                raise ArchiveError(self.path, f"written by a newer copswatch (schema {schema}; this one knows "
                                              f"up to {SCHEMA_VERSION}): upgrade copswatch to use it")
            if schema != SCHEMA_VERSION:
                from storage.migrations import migrations

                migrations.apply(self.db)
                self.conn.execute(f"PRAGMA user_version = {len(migrations.applied(self.db))}")
        except sqlite3.DatabaseError as exc:
            raise ArchiveError(self.path, f"not a usable SQLite archive: {exc}") from None

    @cached_property
    def db(self):
        """The same connection through sqlite-utils."""
        from sqlite_utils import Database

        return Database(self.conn)

    def _check_is_ours(self) -> None:
        tables = {row[0] for row in self.conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if tables and "_sqlite_migrations" not in tables:
            raise ArchiveError(self.path, "an SQLite database, but not a copswatch archive; refusing to modify it")

    @contextmanager
    def transaction(self):
        """One check's writes: all or nothing. IMMEDIATE takes the write lock up front."""
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self.conn.rollback()
            raise
        self.conn.commit()

    def close(self) -> None:
        self.conn.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- recording --------------------------------------------------------------------------

    def record_failure(
        self,
        target: str,
        url: str,
        started_at: datetime,
        reason: str,
        *,
        fetch: FetchResult | None = None,
        status: int | None = None,
        duration_ms: float | None = None,
        parser_version: str | None = None,
        outcome: Outcome = Outcome.FAILED,
        anomaly: str | None = None,
        keys_sha256: str | None = None,
    ) -> CheckResult:
        """Record a check that produced no believable page; the current version stays as it was.

        ``anomaly`` names the guard's rule that rejected the page; ``keys_sha256`` is the digest of the
        publication keys it listed, if it was parsed (a later check listing the same confirms a removal).
        """
        with self.transaction():
            current = self._current_version_id(target)
            check_id = self._insert_check(
                target, url, started_at, outcome, fetch=fetch, reason=reason, status=status,
                duration_ms=duration_ms, parser_version=parser_version, version_id=current,
                anomaly=anomaly, keys_sha256=keys_sha256,
            )
        return CheckResult(check_id, target, url, iso(started_at), outcome, current, reason=reason)

    def last_good_body(self, target: str) -> tuple[str, str, str, str | None] | None:
        """(body sha256, parser version, final URL, content type) of the newest successful check.

        For the same-bytes fast path: only a response equal in all four may skip parsing and judging.
        """
        row = self.conn.execute(
            "SELECT b.sha256, c.parser_version, COALESCE(c.final_url, c.url), c.content_type "
            "FROM checks c JOIN bodies b ON b.id = c.body_id "
            "WHERE c.target = ? AND c.outcome IN (?, ?, ?) ORDER BY c.id DESC LIMIT 1",
            [target, Outcome.FIRST, Outcome.CHANGED, Outcome.UNCHANGED],
        ).fetchone()
        return tuple(row) if row else None

    def validators(self, target: str, parser_version: str) -> tuple[str | None, str | None]:
        """(ETag, Last-Modified) of the newest successful check, for a conditional request.

        (None, None) when that check was read by another parser version: the body must be fetched
        again to be re-parsed, so a 304 must not be invited.
        """
        row = self.conn.execute(
            "SELECT etag, last_modified, parser_version FROM checks "
            "WHERE target = ? AND outcome IN (?, ?, ?) AND body_id IS NOT NULL ORDER BY id DESC LIMIT 1",
            [target, Outcome.FIRST, Outcome.CHANGED, Outcome.UNCHANGED],
        ).fetchone()
        if row is None or row[2] != parser_version:
            return None, None
        return row[0], row[1]

    def record_not_modified(self, target: str, fetch: FetchResult, parser_version: str) -> CheckResult:
        """Record a 304 Not Modified as an unchanged check of the current version.

        No body was downloaded; the check points at the body of the last successful check (the one
        whose validators were sent, which the server just confirmed is still current), and keeps
        that check's validators where the 304 did not repeat them.
        """
        with self.transaction():
            last = self.conn.execute(
                "SELECT body_id, etag, last_modified FROM checks WHERE target = ? AND outcome IN (?, ?, ?) "
                "AND body_id IS NOT NULL ORDER BY id DESC LIMIT 1",
                [target, Outcome.FIRST, Outcome.CHANGED, Outcome.UNCHANGED],
            ).fetchone()
            current = self._current_version_id(target)
            if last is None or current is None:
                reason = "HTTP 304 Not Modified, but nothing was archived to compare with"
                check_id = self._insert_check(
                    target, fetch.url, fetch.fetched_at, Outcome.FAILED, reason=reason, status=fetch.status,
                    duration_ms=fetch.duration_ms, version_id=current,
                )
                return CheckResult(check_id, target, fetch.url, iso(fetch.fetched_at), Outcome.FAILED, current,
                                   reason=reason)
            headers = {"etag": last[1], "last-modified": last[2], **fetch.headers}
            check_id = self._insert_check(
                target, fetch.url, fetch.fetched_at, Outcome.UNCHANGED, fetch=replace(fetch, headers=headers),
                parser_version=parser_version, version_id=current, body_id=last[0],
            )
        return CheckResult(check_id, target, fetch.url, iso(fetch.fetched_at), Outcome.UNCHANGED, current)

    def record_same_body(self, target: str, fetch: FetchResult, parser_version: str) -> CheckResult:
        """Record a check whose body is byte-identical to the last good capture: unchanged, unparsed."""
        with self.transaction():
            current = self._current_version_id(target)
            check_id = self._insert_check(
                target, fetch.url, fetch.fetched_at, Outcome.UNCHANGED, fetch=fetch,
                parser_version=parser_version, version_id=current,
            )
        return CheckResult(check_id, target, fetch.url, iso(fetch.fetched_at), Outcome.UNCHANGED, current)

    def record_page(
        self, target: str, fetch: FetchResult, page: Page, parser_version: str, *,
        alerts: tuple["Subscription", ...] = (), alert_on_first: bool = False,
    ) -> CheckResult:
        """Record a parsed page: a new version when its content differs from the current one.

        ``alerts``: the channels to enqueue the new version's events for, in the same transaction
        (none by default, so replaying captures never alerts). The target's first version is a
        baseline and enqueues nothing unless ``alert_on_first``.
        """
        with self.transaction():
            check_id = self._insert_check(
                target, fetch.url, fetch.fetched_at, Outcome.UNCHANGED, fetch=fetch, parser_version=parser_version,
                keys_sha256=keys_digest(p.key for p in page.publications),
            )
            outcome, version_id, changes = self._apply_page(
                target, check_id, iso(fetch.fetched_at), fetch.final_url, page, parser_version
            )
            if outcome is Outcome.CHANGED or (outcome is Outcome.FIRST and alert_on_first):
                from storage.outbox import enqueue_events

                enqueue_events(self.conn, version_id, alerts, iso(fetch.fetched_at))
        return CheckResult(check_id, target, fetch.url, iso(fetch.fetched_at), outcome, version_id, changes)

    def _apply_page(
        self, target: str, check_id: int, started_at: str, final_url: str, page: Page, parser_version: str
    ) -> tuple[Outcome, int, Changes]:
        """Make ``page``, seen by check ``check_id``, the target's current state; set the check's outcome.

        Writes derived rows only; never notifies (``reparse`` replays history through it).
        """
        content_sha = content_hash(page)
        latest = self._latest_version(target)
        if latest and latest["content_sha256"] == content_sha:
            self.conn.execute(
                "UPDATE checks SET outcome = ?, version_id = ? WHERE id = ?",
                [Outcome.UNCHANGED, latest["id"], check_id],
            )
            return Outcome.UNCHANGED, latest["id"], Changes()

        outcome = Outcome.CHANGED if latest else Outcome.FIRST
        old = self.listing(latest["id"]) if latest else []
        seen_before = frozenset(
            row[0] for row in self.db.execute("SELECT key FROM publications WHERE target = ?", [target])
        )
        new = [Listed(p.key, p.title, p.url, p.description, p.position) for p in page.publications]
        changes = diff(
            old, new, old_text=latest["text"] if latest else "", new_text=page.text,
            seen_before=seen_before,
            labels=(f"version {latest['id']}" if latest else "(nothing)", "this check"),
        )
        text_compression, text, text_base_id = self._pack_text(page.text, latest)
        version_id = self.db["versions"].insert(
            {
                "target": target,
                "check_id": check_id,
                "previous_version_id": latest["id"] if latest else None,
                "captured_at": started_at,
                "url": final_url,
                "title": page.title,
                "heading": page.heading,
                "intro": page.intro,
                "text": text,
                "text_compression": text_compression,
                "text_base_id": text_base_id,
                "publication_count": len(page.publications),
                "summary": changes.summary(),
                "content_sha256": content_sha,
                "body_id": self.conn.execute("SELECT body_id FROM checks WHERE id = ?", [check_id]).fetchone()[0],
                "parser_version": parser_version,
            }
        ).last_pk
        self._write_listing(target, version_id, started_at, new)
        self._write_events(target, version_id, started_at, changes)
        self.db["spotlight_items"].insert_all(
            {"version_id": version_id, "position": s.position, "url": s.url, "image": s.image, "title": s.title}
            for s in page.spotlight
        )
        self.conn.execute("UPDATE checks SET outcome = ?, version_id = ? WHERE id = ?", [outcome, version_id, check_id])
        return outcome, version_id, changes

    # -- re-deriving from the evidence -------------------------------------------------------

    def rebuild(self, target: str, assess: Callable[[FetchResult, CurrentState], tuple]) -> dict:
        """Re-derive a target's versions from its stored raw bodies, in check order, in one transaction.

        ``assess(response, current_state)`` returns ``(page or None, verdict, parser_version)`` where the
        verdict has ``outcome``, ``reason`` and ``anomaly`` (schedules.job.assess). Check rows are kept
        (they are the evidence) and re-pointed; the derived tables (versions, their listings, revisions,
        publications, spotlight items, events) are rebuilt. When the result equals the stored derivation
        nothing is written, so running it twice changes nothing the second time. Never notifies.
        Returns what differs: checks whose outcome changed, and versions whose listing changed.
        """
        try:
            with self.transaction():
                before = self._derivation(target)
                self._delete_derived(target)
                for row in self.conn.execute(
                    "SELECT id, url, started_at, duration_ms, http_status, final_url, redirects, content_type, "
                    "body_id FROM checks WHERE target = ? ORDER BY id", [target]
                ).fetchall():
                    self._replay_check(target, row, assess)
                after = self._derivation(target)
                report = _rebuild_report(target, before, after)
                if not report["changed"]:
                    raise _NothingToChange(report)
        except _NothingToChange as nothing:
            return nothing.report
        return report

    def _replay_check(self, target, row, assess) -> None:
        check_id, url, started_at, duration_ms, status, final_url, redirects, content_type, body_id = row
        current = self._current_version_id(target)
        if body_id is None:  # a fetch that failed: nothing to re-read, only the current version to re-point
            self.conn.execute("UPDATE checks SET version_id = ? WHERE id = ?", [current, check_id])
            return
        response = FetchResult(
            url=url, final_url=final_url or url, status=status or 200,
            headers={"content-type": content_type} if content_type else {},
            body=self.body_bytes(body_id),
            fetched_at=datetime.fromisoformat(started_at), duration_ms=duration_ms or 0.0,
            redirects=tuple(json.loads(redirects)) if redirects else (),
        )
        page, verdict, parser_version = assess(response, self.current_state(target, before_check=check_id))
        keys = keys_digest(p.key for p in page.publications) if page else None
        self.conn.execute(
            "UPDATE checks SET outcome = ?, reason = ?, anomaly = ?, keys_sha256 = ?, parser_version = ?, "
            "version_id = ? WHERE id = ?",
            [verdict.outcome, verdict.reason, verdict.anomaly, keys, parser_version, current, check_id],
        )
        if verdict.outcome is not Outcome.ANOMALY:
            self._apply_page(target, check_id, started_at, response.final_url, page, parser_version)

    def _delete_derived(self, target: str) -> None:
        versions = "SELECT id FROM versions WHERE target = ?"
        for table in ("events", "spotlight_items", "version_publications", "publication_revisions"):
            self.conn.execute(f"DELETE FROM {table} WHERE version_id IN ({versions})", [target])
        self.conn.execute("DELETE FROM events WHERE target = ?", [target])
        self.conn.execute("DELETE FROM publications WHERE target = ?", [target])
        self.conn.execute("DELETE FROM versions WHERE target = ?", [target])

    def _derivation(self, target: str) -> list[dict]:
        """Per check: its outcome and the listing current after it, independent of version ids."""
        listings: dict[int, tuple] = {}
        rows = []
        for check_id, started_at, outcome, reason, version_id, content_sha in self.conn.execute(
            "SELECT c.id, c.started_at, c.outcome, c.reason, c.version_id, v.content_sha256 FROM checks c "
            "LEFT JOIN versions v ON v.id = c.version_id WHERE c.target = ? ORDER BY c.id", [target]
        ).fetchall():
            if version_id is not None and version_id not in listings:
                listings[version_id] = tuple(self.listing(version_id))
            rows.append({
                "check_id": check_id, "started_at": started_at, "outcome": outcome, "reason": reason,
                "version_id": version_id, "content_sha256": content_sha,
                "listing": listings.get(version_id, ()),
            })
        return rows

    def _insert_check(
        self, target, url, started_at, outcome, *, fetch=None, reason=None, status=None,
        duration_ms=None, parser_version=None, version_id=None, body_id=None, anomaly=None, keys_sha256=None,
    ) -> int:
        if body_id is None and fetch is not None:
            body_id = self._store_body(target, fetch.body, started_at)
        headers = fetch.headers if fetch else {}
        row = {
            "target": target,
            "url": url,
            "started_at": iso(started_at),
            "duration_ms": fetch.duration_ms if fetch else duration_ms,
            "outcome": str(outcome),
            "reason": reason,
            "http_status": fetch.status if fetch else status,
            "final_url": fetch.final_url if fetch and fetch.final_url != url else None,
            "redirects": json.dumps(list(fetch.redirects)) if fetch and fetch.redirects else None,
            "content_type": headers.get("content-type"),
            "etag": headers.get("etag"),
            "last_modified": headers.get("last-modified"),
            "body_id": body_id,
            "parser_version": parser_version,
            "version_id": version_id,
            "anomaly": anomaly,
            "keys_sha256": keys_sha256,
        }
        cursor = self.conn.execute(
            f"INSERT INTO checks ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})", list(row.values())
        )
        return cursor.lastrowid

    def _store_body(self, target: str, body: bytes, when: datetime) -> int:
        """Store a raw body once (content-addressed by SHA-256); return its id.

        A new body is packed against the standalone base of the target's last stored body when
        that saves space (most nights' pages differ by a few lines).
        """
        digest = sha256(body)
        row = self.conn.execute("SELECT id FROM bodies WHERE sha256 = ?", [digest]).fetchone()
        if row:
            return row[0]
        base = self.conn.execute(
            "SELECT COALESCE(b.base_id, b.id) FROM checks c JOIN bodies b ON b.id = c.body_id "
            "WHERE c.target = ? ORDER BY c.id DESC LIMIT 1",
            [target],
        ).fetchone()
        base_id = base[0] if base else None
        compression, content = pack(body, self.body_bytes(base_id) if base_id else None)
        return self.conn.execute(
            "INSERT INTO bodies (sha256, size, compression, content, first_stored_at, base_id) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            [digest, len(body), compression, content, iso(when), base_id if compression == DELTA else None],
        ).lastrowid

    def _write_listing(self, target: str, version_id: int, captured_at: str, listed: list[Listed]) -> None:
        for item in listed:
            row = self.db.execute(
                "SELECT id FROM publications WHERE target = ? AND key = ?", [target, item.key]
            ).fetchone()
            if row:
                publication_id = row[0]
                self.db.execute("UPDATE publications SET last_version_id = ? WHERE id = ?", [version_id, publication_id])
            else:
                publication_id = self.db["publications"].insert(
                    {
                        "target": target,
                        "key": item.key,
                        "first_version_id": version_id,
                        "first_seen_at": captured_at,
                        "last_version_id": version_id,
                    }
                ).last_pk
            revision = self.db.execute(
                "SELECT id, title, url, description FROM publication_revisions "
                "WHERE publication_id = ? ORDER BY id DESC LIMIT 1",
                [publication_id],
            ).fetchone()
            if revision and tuple(revision[1:]) == (item.title, item.url, item.description):
                revision_id = revision[0]
            else:
                revision_id = self.db["publication_revisions"].insert(
                    {
                        "publication_id": publication_id,
                        "version_id": version_id,
                        "title": item.title,
                        "url": item.url,
                        "description": item.description,
                    }
                ).last_pk
            self.db["version_publications"].insert(
                {"version_id": version_id, "publication_id": publication_id, "revision_id": revision_id,
                 "position": item.position}
            )

    def _write_events(self, target: str, version_id: int, at: str, changes: Changes) -> None:
        events = [(kind, p.key, None) for kind, items in
                  (("added", changes.added), ("reappeared", changes.reappeared), ("removed", changes.removed))
                  for p in items]
        for m in changes.modified:
            text_fields = [f for f in m.fields if f != "url"]
            if text_fields:
                events.append(("modified", m.after.key, {f: [getattr(m.before, f), getattr(m.after, f)] for f in text_fields}))
            if "url" in m.fields:
                events.append(("moved", m.after.key, {"url": [m.before.url, m.after.url]}))
        for kind, key, fields in events:
            self.db.execute(
                "INSERT INTO events (target, version_id, publication_id, kind, changes, created_at) "
                "SELECT ?, ?, id, ?, ?, ? FROM publications WHERE target = ? AND key = ?",
                [target, version_id, kind, json.dumps(fields, ensure_ascii=False) if fields else None, at, target, key],
            )

    # -- reading ----------------------------------------------------------------------------

    def targets(self) -> list[str]:
        return [row[0] for row in self.conn.execute("SELECT DISTINCT target FROM checks ORDER BY target")]

    def current_state(self, target: str, before_check: int | None = None) -> CurrentState:
        """The current version's keys and content hash, and an unconfirmed large removal if one is pending.

        ``before_check``: as it stood before that check (``rebuild`` replays checks that already exist).
        """
        latest = self.conn.execute(
            "SELECT id, content_sha256 FROM versions WHERE target = ? ORDER BY id DESC LIMIT 1", [target]
        ).fetchone()
        keys = None
        if latest:
            keys = frozenset(row[0] for row in self.conn.execute(
                "SELECT p.key FROM version_publications vp JOIN publications p ON p.id = vp.publication_id "
                "WHERE vp.version_id = ?", [latest[0]]))
        # Only the latest check that got a page counts: a good page in between cancels the pending removal.
        last_page = self.conn.execute(
            "SELECT anomaly, keys_sha256 FROM checks WHERE target = ? AND body_id IS NOT NULL AND id < ? "
            "ORDER BY id DESC LIMIT 1", [target, before_check if before_check is not None else 2**63 - 1]
        ).fetchone()
        pending = last_page[1] if last_page and last_page[0] in PENDING_RULES else None
        return CurrentState(keys, latest[1] if latest else None, pending)

    def _current_version_id(self, target: str) -> int | None:
        row = self.conn.execute("SELECT MAX(id) FROM versions WHERE target = ?", [target]).fetchone()
        return row[0]

    def _latest_version(self, target: str) -> dict | None:
        rows = list(self.db.query("SELECT * FROM versions WHERE target = ? ORDER BY id DESC LIMIT 1", [target]))
        return self._unpack_text(rows[0]) if rows else None

    def _pack_text(self, text: str, latest: dict | None) -> tuple[str, bytes, int | None]:
        """A version's text, packed against the standalone text its predecessor is based on."""
        base_id = (latest["text_base_id"] or latest["id"]) if latest else None
        base = self.version_row(base_id, latest["target"])["text"].encode() if base_id else None
        compression, content = pack(text.encode(), base)
        return compression, content, base_id if compression == DELTA else None

    def _unpack_text(self, row: dict) -> dict:
        """The row with its text as a str, however it is stored (plain before m005)."""
        if row.get("text_compression"):
            base = None
            if row["text_base_id"]:
                stored, compression = self.conn.execute(
                    "SELECT text, text_compression FROM versions WHERE id = ?", [row["text_base_id"]]).fetchone()
                base = unpack(compression, stored) if compression else stored.encode()
            row["text"] = unpack(row["text_compression"], row["text"], base).decode()
        return row

    def version_row(self, version_id: int | None, target: str) -> dict:
        """The version with this id, or the target's latest; NotFound if there is none."""
        if version_id is None:
            row = self._latest_version(target)
            if row is None:
                raise NotFound(self.path, f"no version of {target!r} archived yet")
            return row
        rows = list(self.db.query("SELECT * FROM versions WHERE id = ?", [version_id]))
        if not rows:
            raise NotFound(self.path, f"no version {version_id}")
        return self._unpack_text(rows[0])

    def listing(self, version_id: int) -> list[Listed]:
        return [
            Listed(*row)
            for row in self.db.execute(
                "SELECT p.key, r.title, r.url, r.description, vp.position FROM version_publications vp "
                "JOIN publications p ON p.id = vp.publication_id "
                "JOIN publication_revisions r ON r.id = vp.revision_id "
                "WHERE vp.version_id = ? ORDER BY vp.position",
                [version_id],
            )
        ]

    def show(self, version_id: int | None, target: str) -> dict:
        version = self.version_row(version_id, target)
        return {
            "version_id": version["id"],
            "target": version["target"],
            "captured_at": version["captured_at"],
            "url": version["url"],
            "title": version["title"],
            "heading": version["heading"],
            "intro": version["intro"],
            "parser_version": version["parser_version"],
            "resources": [
                {**p.public(), "position": p.position} for p in self.listing(version["id"])
            ],
            "spotlight": [
                {"url": row[0], "image": row[1], "title": row[2]}
                for row in self.db.execute(
                    "SELECT url, image, title FROM spotlight_items WHERE version_id = ? ORDER BY position",
                    [version["id"]],
                )
            ],
        }

    def diff_versions(self, old_id: int | None, new_id: int | None, target: str) -> tuple[dict, dict, Changes]:
        """Diff two versions (default: the target's last two)."""
        if old_id is None and new_id is None:
            ids = [r[0] for r in self.db.execute(
                "SELECT id FROM versions WHERE target = ? ORDER BY id DESC LIMIT 2", [target])]
            if len(ids) < 2:
                raise NotFound(self.path, f"fewer than two versions of {target!r} archived")
            new_id, old_id = ids
        elif new_id is None:
            new_id = self.version_row(None, target)["id"]
        old, new = self.version_row(old_id, target), self.version_row(new_id, target)
        seen_before = frozenset(
            row[0] for row in self.db.execute(
                "SELECT key FROM publications WHERE target = ? AND first_version_id < ?", [old["target"], old["id"]])
        )
        changes = diff(
            self.listing(old["id"]), self.listing(new["id"]), old_text=old["text"], new_text=new["text"],
            seen_before=seen_before, labels=(f"version {old['id']}", f"version {new['id']}"),
        )
        return old, new, changes

    def history(self, target: str | None = None, **window) -> dict:
        """Checks and versions, newest first; ``window``: since, until, changes_only (storage.queries)."""
        from storage.queries import history

        return history(self, target, **window)

    def body(self, digest: str) -> bytes:
        row = self.conn.execute("SELECT id FROM bodies WHERE sha256 = ?", [digest]).fetchone()
        if row is None:
            raise NotFound(self.path, f"no body {digest}")
        return self.body_bytes(row[0])

    def body_bytes(self, body_id: int) -> bytes:
        """A stored body's exact bytes; ArchiveError if they no longer match their SHA-256."""
        digest, compression, content, base_id = self.conn.execute(
            "SELECT sha256, compression, content, base_id FROM bodies WHERE id = ?", [body_id]).fetchone()
        try:
            data = unpack(compression, content, self.body_bytes(base_id) if base_id else None)
        except (zlib.error, ValueError) as exc:
            raise ArchiveError(self.path, f"body {digest} cannot be unpacked: {exc}") from None
        if sha256(data) != digest:
            raise ArchiveError(self.path, f"body {digest} does not match its SHA-256")
        return data


class _NothingToChange(Exception):
    def __init__(self, report: dict):
        self.report = report


def _rebuild_report(target: str, before: list[dict], after: list[dict]) -> dict:
    """What the new derivation sees differently from the stored one, check by check."""
    outcomes, versions = [], []
    for old, new in zip(before, after, strict=True):
        if (old["outcome"], old["reason"]) != (new["outcome"], new["reason"]):
            outcomes.append({"check_id": new["check_id"], "started_at": new["started_at"],
                             "before": old["outcome"], "after": new["outcome"],
                             "reason_before": old["reason"], "reason_after": new["reason"]})
        made_version = {old["outcome"], new["outcome"]} & {Outcome.FIRST, Outcome.CHANGED}
        if made_version and old["listing"] != new["listing"]:
            changes = diff(list(old["listing"]), list(new["listing"]))
            versions.append({
                "check_id": new["check_id"], "started_at": new["started_at"],
                "old_version_id": old["version_id"], "version_id": new["version_id"],
                "added": [p.public() for p in changes.added],
                "removed": [p.public() for p in changes.removed],
                "modified": [m.public() for m in changes.modified],
            })
    changed = [(r["outcome"], r["reason"], r["content_sha256"], r["listing"]) for r in before] != \
        [(r["outcome"], r["reason"], r["content_sha256"], r["listing"]) for r in after]
    return {
        "target": target,
        "checks": len(after),
        "versions_before": len({r["version_id"] for r in before if r["version_id"] is not None}),
        "versions_after": len({r["version_id"] for r in after if r["version_id"] is not None}),
        "changed": changed,
        "outcomes": outcomes,
        "versions": versions,
    }
