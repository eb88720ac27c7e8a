"""The fault matrix, end to end: the CLI against a misbehaving loopback server and a real archive.

For every fault: the check is recorded with its reason, `run` exits 1, the current version, its
publications and the events are untouched, no body over the size limit is stored, and the next good
fetch resumes normally (a real change is found and reported).
"""

import re
import sqlite3
import time

import pytest

from tests.conftest import fixture_bytes

OLDER = fixture_bytes("buildingtrust-older.html")
NEWER = fixture_bytes("buildingtrust-newer.html")
HOME = b"""<!DOCTYPE html><html><head><title>COPS OFFICE</title></head><body>
<h1>Community Oriented Policing Services</h1><p>Welcome to the COPS Office.</p></body></html>"""

FAST = {"COPSWATCH_TIMEOUT": "0.5", "COPSWATCH_CONNECT_TIMEOUT": "0.5", "COPSWATCH_TOTAL_TIMEOUT": "4",
        "COPSWATCH_RETRIES": "2", "COPSWATCH_RETRY_AFTER_CAP": "1"}

# fault id → (fault kind and options, reason pattern, outcomes allowed, requests of the page expected)
MATRIX = {
    "http-500": (("status", {"status": 500}), r"HTTP 500 .*transient; gave up after 3 attempts", {"failed"}, 3),
    "http-503-retry-after": (("status", {"status": 503, "headers": {"Retry-After": "0"}}),
                             r"HTTP 503 .*gave up after 3 attempts", {"failed"}, 3),
    "http-503-retry-after-too-long": (("status", {"status": 503, "headers": {"Retry-After": "3600"}}),
                                      r"HTTP 503 .*retry after 3600s, beyond the 1s cap", {"failed"}, 1),
    "http-429": (("status", {"status": 429, "headers": {"Retry-After": "0"}}),
                 r"HTTP 429 .*gave up after 3 attempts", {"failed"}, 3),
    "http-404": (("status", {"status": 404}), r"HTTP 404 .*permanent, not retried", {"failed"}, 1),
    "http-410": (("status", {"status": 410}), r"HTTP 410 .*permanent, not retried", {"failed"}, 1),
    "http-403": (("status", {"status": 403}), r"HTTP 403 .*permanent, not retried", {"failed"}, 1),
    "connection-reset": (("reset", {}), r"request failed: .*gave up after 3 attempts", {"failed"}, 3),
    "stall-past-timeout": (("stall", {"seconds": 2}), r"timed out \(ReadTimeout\).*gave up", {"failed"}, 3),
    "short-body": (("short", {}), r"request failed: RemoteProtocolError.*gave up after 3", {"failed"}, 3),
    "binary-as-html": (("binary", {}), r"^not-html: .*binary", {"anomaly"}, 1),
    "redirect-loop": (("redirect_loop", {}), r"more than 10 redirects .*not retried", {"failed"}, 11),
    "redirect-to-home": (("redirect", {"location": "/"}), r"^redirected: .* to http://127\.0\.0\.1:\d+/, not the page",
                         {"anomaly"}, 1),
    "drip": (("drip", {"interval": 0.05}), r"not finished within the 1s total time limit", {"failed"}, 1),
    "oversized-streamed": (("oversized", {}), r"over the 10485760-byte limit; download stopped", {"failed"}, 1),
    "oversized-declared": (("oversized", {"declare": 50_000_000}), r"50000000 bytes is over .*not downloaded",
                           {"failed"}, 1),
    "invalid-gzip": (("bad_gzip", {}), r"invalid content encoding", {"failed"}, 1),
}


def snapshot(db_path) -> dict:
    with sqlite3.connect(db_path) as conn:
        return {
            table: conn.execute(f"SELECT * FROM {table} ORDER BY 1, 2").fetchall()  # noqa: S608 (constant names)
            for table in ("versions", "current_publications", "events", "publications", "version_publications")
        }


@pytest.fixture
def fast(monkeypatch):
    for name, value in FAST.items():
        monkeypatch.setenv(name, value)


@pytest.mark.parametrize("fault", list(MATRIX))
def test_fault_matrix(fault, site, cli_run, db_path, fast, monkeypatch):
    (kind, options), reason, outcomes, page_requests = MATRIX[fault]
    if fault == "drip":
        monkeypatch.setenv("COPSWATCH_TOTAL_TIMEOUT", "1")
    url = site.serve(OLDER)
    site.serve(HOME, path="/")
    assert cli_run("run", "--url", url).exit_code == 0
    before = snapshot(db_path)
    hits = site.hits()

    site.fault(kind, **options)
    result = cli_run("run", "--url", url, "--json")

    assert result.exit_code == 1, result.output
    assert result.data["outcome"] in outcomes
    assert re.search(reason, result.data["reason"]), result.data["reason"]
    assert result.data["version_id"] == 1 and result.data["summary"] is None
    assert site.hits() - hits == page_requests
    with sqlite3.connect(db_path) as conn:
        recorded = conn.execute("SELECT outcome, reason, version_id FROM checks ORDER BY id DESC LIMIT 1").fetchone()
        assert recorded == (result.data["outcome"], result.data["reason"], 1)
        assert conn.execute("SELECT MAX(size) FROM bodies").fetchone()[0] <= 10 * 1024 * 1024
    assert snapshot(db_path) == before  # no new version, no publication event: nothing to alert on

    site.serve(NEWER)
    resumed = cli_run("run", "--url", url, "--json")
    assert resumed.exit_code == 0
    assert resumed.data["outcome"] == "changed" and len(resumed.data["changes"]["added"]) == 3


@pytest.mark.parametrize("status", [503, 429])
def test_transient_status_then_success_honours_retry_after(status, site, cli_run, fast):
    url = site.serve(OLDER)
    site.fault("status", status=status, headers={"Retry-After": "1"}, times=1)
    started = time.monotonic()
    result = cli_run("run", "--url", url, "--json")
    assert result.exit_code == 0 and result.data["outcome"] == "first"
    assert time.monotonic() - started >= 1.0  # waited as asked
    assert site.hits() == 2


def test_reset_then_success_is_retried(site, cli_run, fast):
    url = site.serve(OLDER)
    site.fault("reset", times=2)
    result = cli_run("run", "--url", url, "--json")
    assert result.exit_code == 0 and result.data["outcome"] == "first"
    assert site.hits() == 3


def test_fault_before_any_version_records_the_failure_only(site, cli_run, db_path, fast):
    url = site.fault("status", status=404)
    result = cli_run("run", "--url", url, "--json")
    assert result.exit_code == 1 and result.data["version_id"] is None
    with sqlite3.connect(db_path) as conn:
        assert conn.execute("SELECT COUNT(*) FROM versions").fetchone() == (0,)
        assert conn.execute("SELECT outcome, http_status FROM checks").fetchall() == [("failed", 404)]


def test_total_time_is_bounded_however_many_retries_are_allowed(site, cli_run, fast, monkeypatch):
    monkeypatch.setenv("COPSWATCH_RETRIES", "50")
    monkeypatch.setenv("COPSWATCH_TOTAL_TIMEOUT", "1.5")
    url = site.fault("stall", seconds=3)
    started = time.monotonic()
    result = cli_run("run", "--url", url, "--json")
    elapsed = time.monotonic() - started
    assert result.exit_code == 1 and "timed out" in result.data["reason"]
    assert "deadline" in result.data["reason"] or "gave up" in result.data["reason"]
    # Unbounded, 50 retries of a 3 s stall would take minutes; the slack is for a loaded CI machine.
    assert elapsed < 1.5 + 2.5
    assert 2 <= site.hits() < 50
