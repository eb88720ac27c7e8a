"""The synthetic decade generator: deterministic, and what it records is what it generated."""

import hashlib

from bench.synth import build_archive, simulate
from storage.archive import Archive


def digest(**options) -> str:
    h = hashlib.sha256()
    for night in simulate(**options):
        h.update(f"{night.index} {night.when.isoformat()} {night.kind}".encode())
        h.update(night.body or b"-")
    return h.hexdigest()


def test_same_seed_same_nights_other_seed_other_nights():
    assert digest(nights=200, seed=3) == digest(nights=200, seed=3)
    assert digest(nights=200, seed=3) != digest(nights=200, seed=4)


def test_a_short_run_records_every_night_and_every_change(tmp_path):
    path = tmp_path / "synth.db"
    stats = build_archive(path, nights=240, seed=2, publications=120)

    kinds = stats["nights_by_kind"]
    assert stats["checks_rows"] == 240
    assert stats["mismatches"] == 0, stats["first_mismatches"]
    assert kinds["content"] > 3 and kinds["same"] > 150
    assert stats["checks_by_outcome"].get("failed", 0) == kinds.get("failure", 0)
    # a redesign may become a version (its text lines differ) but never alters the listing
    assert kinds["content"] + 1 <= stats["versions_rows"] <= kinds["content"] + 1 + kinds.get("redesign", 0)
    with Archive(path, create=False) as archive:
        assert len(archive.history("buildingtrust")["checks"]) == 240
        assert archive.conn.execute("SELECT COUNT(*) FROM publications").fetchone()[0] >= 100


def test_volatile_chrome_makes_every_night_a_new_body():
    bodies = {night.body for night in simulate(nights=30, seed=1, volatile=True, failure_rate=0)}
    assert len(bodies) == 30


def test_a_failed_night_records_how_long_it_took_not_the_distance_to_its_simulated_date(tmp_path):
    from datetime import UTC, datetime

    from bench.synth import check

    with Archive(tmp_path / "a.db") as archive:
        result = check(archive, None, datetime(2016, 1, 4, 3, 0, tzinfo=UTC))
        duration = archive.conn.execute("SELECT duration_ms FROM checks WHERE id = ?", [result.check_id]).fetchone()[0]
    assert result.outcome == "failed"
    assert 0 <= duration < 10_000
