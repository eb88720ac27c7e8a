"""Archive health and backups: `copswatch doctor` and `copswatch backup`.

``doctor`` opens the archive read-only (it never migrates, repairs or writes) and reports every
problem it finds with the way to fix it. ``backup`` copies a live archive with SQLite's online
backup API: a consistent snapshot of the last committed state, taken while the nightly writer and
any readers keep going (WAL mode), written to a temporary file and renamed into place only once
the copy passes ``PRAGMA integrity_check``.
"""

import hashlib
import os
import sqlite3
import zlib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from urllib.parse import quote

from storage import SCHEMA_VERSION
from storage.errors import ArchiveError
from storage.packing import unpack

RESTORE = "restore the archive from a backup made before the damage (`copswatch backup` makes them)"


@dataclass(frozen=True)
class Problem:
    check: str  # which check found it (one of Report.checked)
    count: int
    detail: str
    fix: str


@dataclass(frozen=True)
class Report:
    path: str
    schema_version: int | None
    expected_schema_version: int
    checked: tuple[str, ...]
    problems: tuple[Problem, ...] = field(default=())

    @property
    def healthy(self) -> bool:
        return not self.problems

    def public(self) -> dict:
        return {"path": self.path, "healthy": self.healthy, "schema_version": self.schema_version,
                "expected_schema_version": self.expected_schema_version, "checked": list(self.checked),
                "problems": [asdict(p) for p in self.problems]}


class Damaged(ArchiveError):
    """An SQLite file too damaged to read its schema."""


def connect_read_only(path: str) -> sqlite3.Connection:
    if not os.path.isfile(path):
        raise ArchiveError(path, "no archive here" if not os.path.exists(path) else "not a file")
    conn = sqlite3.connect(f"file:{quote(os.path.abspath(path))}?mode=ro", uri=True, timeout=10)
    try:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    except sqlite3.DatabaseError as exc:
        conn.close()
        error = Damaged if exc.sqlite_errorname == "SQLITE_CORRUPT" else ArchiveError
        raise error(path, f"not a usable SQLite archive: {exc}") from None
    if "_sqlite_migrations" not in tables:
        conn.close()
        raise ArchiveError(path, "not a copswatch archive")
    return conn


CHECKS = ("integrity", "schema_version", "dangling_references", "versions_without_listing",
          "orphaned_bodies", "body_hashes")


def doctor(path: str) -> Report:
    try:
        conn = connect_read_only(path)
    except Damaged as exc:
        return Report(path, None, SCHEMA_VERSION, CHECKS, (Problem("integrity", 1, str(exc), RESTORE),))
    try:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        problems = []
        for check in CHECKS:
            try:
                problems += globals()[f"_{check}"](conn, version)
            except sqlite3.DatabaseError as exc:  # a damaged file can fail any query
                problems.append(Problem(check, 1, f"could not be checked: {exc}", RESTORE))
        return Report(path, version, SCHEMA_VERSION, CHECKS, tuple(problems))
    finally:
        conn.close()


def _integrity(conn, version) -> list[Problem]:
    messages = [r[0] for r in conn.execute("PRAGMA integrity_check(20)")]
    if messages == ["ok"]:
        return []
    return [Problem("integrity", len(messages), "PRAGMA integrity_check: " + "; ".join(messages),
                    f"{RESTORE}; failing that, `sqlite3 ARCHIVE .recover | sqlite3 RECOVERED.db` salvages rows")]


def _schema_version(conn, version) -> list[Problem]:
    if version == SCHEMA_VERSION:
        return []
    if version < SCHEMA_VERSION:
        return [Problem("schema_version", 1, f"schema version {version}, this copswatch uses {SCHEMA_VERSION}",
                        "take a `copswatch backup`, then run `copswatch run` once: it upgrades the schema in place")]
    return [Problem("schema_version", 1, f"schema version {version} is newer than this copswatch ({SCHEMA_VERSION})",
                    "upgrade copswatch; do not write to this archive with this version")]


def _dangling_references(conn, version) -> list[Problem]:
    queries = {
        "checks pointing at a missing version": "SELECT COUNT(*) FROM checks c WHERE c.version_id IS NOT NULL "
        "AND NOT EXISTS (SELECT 1 FROM versions v WHERE v.id = c.version_id)",
        "checks pointing at a missing body": "SELECT COUNT(*) FROM checks c WHERE c.body_id IS NOT NULL "
        "AND NOT EXISTS (SELECT 1 FROM bodies b WHERE b.id = c.body_id)",
        "versions without their check": "SELECT COUNT(*) FROM versions v "
        "WHERE NOT EXISTS (SELECT 1 FROM checks c WHERE c.id = v.check_id)",
    }
    found = [(what, conn.execute(sql).fetchone()[0]) for what, sql in queries.items()]
    fk = conn.execute("PRAGMA foreign_key_check").fetchall()
    if fk:
        found.append((f"rows breaking a foreign key (first: table {fk[0][0]}, rowid {fk[0][1]})", len(fk)))
    return [Problem("dangling_references", n, f"{n} {what}", RESTORE) for what, n in found if n]


def _versions_without_listing(conn, version) -> list[Problem]:
    ids = [r[0] for r in conn.execute(
        "SELECT v.id FROM versions v WHERE v.publication_count != "
        "(SELECT COUNT(*) FROM version_publications vp WHERE vp.version_id = v.id) ORDER BY v.id")]
    if not ids:
        return []
    return [Problem("versions_without_listing", len(ids),
                    f"versions whose listing rows are missing or incomplete: {_ids(ids)}",
                    f"{RESTORE}; the raw body of each is kept, so `copswatch show` of a restored copy is evidence")]


def _orphaned_bodies(conn, version) -> list[Problem]:
    ids = [r[0] for r in conn.execute(
        "SELECT b.id FROM bodies b WHERE NOT EXISTS (SELECT 1 FROM checks c WHERE c.body_id = b.id) "
        "AND NOT EXISTS (SELECT 1 FROM versions v WHERE v.body_id = b.id) "
        "AND NOT EXISTS (SELECT 1 FROM bodies d WHERE d.base_id = b.id) ORDER BY b.id")]
    if not ids:
        return []
    return [Problem("orphaned_bodies", len(ids), f"bodies no check or version refers to: {_ids(ids)}",
                    "harmless to the archive's history, but copswatch never writes them: take a `copswatch "
                    "backup` (it keeps them as evidence), then `DELETE FROM bodies WHERE id IN (…)`")]


def _body_hashes(conn, version) -> list[Problem]:
    bad = []
    bases: dict[int, bytes | None] = {}  # standalone bodies that deltas are packed against
    for body_id, digest, compression, content, base_id in conn.execute(
            "SELECT id, sha256, compression, content, base_id FROM bodies ORDER BY id"):
        try:
            if base_id is not None and base_id not in bases:
                row = conn.execute("SELECT compression, content FROM bodies WHERE id = ?", [base_id]).fetchone()
                bases[base_id] = unpack(*row) if row else None
            raw = unpack(compression, content, bases.get(base_id))
        except (zlib.error, ValueError):  # damaged, or a delta whose base is gone
            bad.append(body_id)
            continue
        if hashlib.sha256(raw).hexdigest() != digest:
            bad.append(body_id)
    if not bad:
        return []
    return [Problem("body_hashes", len(bad), f"bodies whose content no longer matches their SHA-256: {_ids(bad)}",
                    f"these captures were altered or damaged after they were stored and are no longer evidence: "
                    f"{RESTORE}")]


def _ids(ids: list[int]) -> str:
    shown = ", ".join(map(str, ids[:20]))
    return shown + (f" and {len(ids) - 20} more" if len(ids) > 20 else "")


def check_backup_path(source: str, dest: str, *, force: bool) -> Path:
    """The destination as a Path, or ArchiveError saying why it cannot be used."""
    target = Path(dest)
    if not dest.strip():
        raise ArchiveError(dest, "empty backup path")
    if target.is_dir():
        raise ArchiveError(dest, "is a directory; give a file name for the backup")
    if not target.parent.is_dir():
        raise ArchiveError(dest, f"directory {target.parent} does not exist")
    if target.exists():
        if target.resolve() == Path(source).resolve():
            raise ArchiveError(dest, "is the archive itself")
        if not force:
            raise ArchiveError(dest, "already exists; use --force to replace it")
        if not target.is_file():
            raise ArchiveError(dest, "exists and is not a regular file")
    return target


def backup(source: str, dest: str, *, force: bool = False) -> dict:
    """Copy the archive at ``source`` to ``dest`` consistently, even while it is being written."""
    target = check_backup_path(source, dest, force=force)
    conn = connect_read_only(source)
    partial = target.with_name(f".{target.name}.partial-{os.getpid()}")
    try:
        copy = sqlite3.connect(partial)
        try:
            conn.backup(copy)
            copy.execute("PRAGMA journal_mode = delete")  # one self-contained file
            if copy.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
                raise ArchiveError(dest, "the copy failed its integrity check; the archive may be damaged "
                                         "(run `copswatch doctor`)")
            counts = {t: copy.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]  # noqa: S608 (constant names)
                      for t in ("checks", "versions", "bodies")}
            schema = copy.execute("PRAGMA user_version").fetchone()[0]
        finally:
            copy.close()
        os.replace(partial, target)
    except sqlite3.Error as exc:
        raise ArchiveError(dest, f"backup failed: {exc}") from None
    finally:
        conn.close()
        partial.unlink(missing_ok=True)
    return {"source": source, "path": str(target), "bytes": target.stat().st_size, "schema_version": schema,
            **counts}
