"""The scheduler (schedules/daemon.py) and the archive lock, with real archives, real loopback
servers and real processes. No test waits for a cron time: jobs are moved in time instead."""

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from copswatch.config import Config, Target, cron_trigger
from schedules.daemon import Daemon, catch_up_due, log_line
from schedules.job import run_check
from schedules.lock import ArchiveBusy, archive_lock
from scraper.fetch import make_client
from storage.archive import Archive
from tests.conftest import fixture_bytes

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch):
    for name in list(os.environ):
        if name.startswith("COPSWATCH_") or name == "JOURNAL_STREAM":
            monkeypatch.delenv(name)


class Stall:
    """A loopback server that answers only when ``release`` is set: a check stays in progress."""

    def __init__(self, body: bytes):
        self.arrived = threading.Event()
        self.release = threading.Event()
        self.count = 0
        stall = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                stall.count += 1
                stall.arrived.set()
                stall.release.wait(60)
                try:
                    self.send_response(200)
                    self.send_header("Content-Type", "text/html; charset=utf-8")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except OSError:  # the client gave up (an abandoned run)
                    pass

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}/buildingtrust"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def stall():
    s = Stall(fixture_bytes("buildingtrust-newer.html"))
    yield s
    s.close()


def env():
    return {**{k: v for k, v in os.environ.items() if not k.startswith("COPSWATCH_")}, "PYTHONPATH": ROOT}


def copswatch(*args) -> list[str]:
    return [sys.executable, "-m", "copswatch", *map(str, args)]


def seed(db_path, url, when: datetime) -> None:
    """One successful check of `buildingtrust` at ``when`` (the archive's only state)."""
    with Archive(db_path) as archive, make_client() as client:
        assert run_check(archive, client, "buildingtrust", url, clock=lambda: when).outcome == "first"


def rows(db_path, sql):
    with sqlite3.connect(db_path) as conn:
        return conn.execute(sql).fetchall()


def count_checks(db_path) -> int:
    try:
        return rows(db_path, "SELECT COUNT(*) FROM checks")[0][0]
    except sqlite3.Error:  # not created yet
        return -1


def consistent(db_path) -> None:
    """integrity_check passes and every version has exactly its publications: nothing half-written."""
    assert rows(db_path, "PRAGMA integrity_check") == [("ok",)]
    for version_id, count in rows(db_path, "SELECT id, publication_count FROM versions"):
        assert rows(db_path, f"SELECT COUNT(*) FROM version_publications WHERE version_id = {version_id}") == [(count,)]
    assert rows(db_path, "SELECT COUNT(*) FROM checks WHERE outcome IN ('first', 'changed') AND version_id IS NULL") == [(0,)]


# -- catch-up decision ---------------------------------------------------------------------

NIGHTLY = cron_trigger("0 7 * * *", "UTC")


@pytest.mark.parametrize(
    "last, now, due",
    [
        (None, "2026-11-24T05:00", True),  # never checked
        ("2026-11-23T07:00", "2026-11-24T06:59", False),  # tonight's run is still to come
        ("2026-11-23T07:00", "2026-11-24T07:30", True),  # this morning's run was missed
        ("2026-11-20T07:00", "2026-11-24T06:00", True),  # several nights missed: one catch-up
        ("2026-11-24T07:03", "2026-11-24T09:00", False),  # the (jittered) run happened
    ],
)
def test_catch_up_when_a_scheduled_time_passed_since_the_last_success(last, now, due):
    as_time = lambda text: datetime.fromisoformat(text).replace(tzinfo=UTC)  # noqa: E731
    assert catch_up_due(NIGHTLY, as_time(last) if last else None, as_time(now)) is due


def test_catch_up_follows_the_targets_time_zone():
    new_york = cron_trigger("0 7 * * *", "America/New_York")  # 12:00 UTC in November
    last = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
    assert not catch_up_due(new_york, last, datetime(2026, 11, 24, 11, 59, tzinfo=UTC))
    assert catch_up_due(new_york, last, datetime(2026, 11, 24, 12, 1, tzinfo=UTC))


def test_crontab_weekday_numbers_mean_what_cron_means():
    # APScheduler 3 alone would read 0 as Monday; cron means Sunday (and 1-5 Monday to Friday).
    monday = datetime(2026, 11, 23, tzinfo=UTC)
    assert cron_trigger("0 7 * * 0", "UTC").get_next_fire_time(None, monday).strftime("%a") == "Sun"
    assert cron_trigger("0 7 * * 7", "UTC").get_next_fire_time(None, monday).strftime("%a") == "Sun"
    saturday = datetime(2026, 11, 28, 8, tzinfo=UTC)
    assert cron_trigger("0 7 * * 1-5", "UTC").get_next_fire_time(None, saturday).strftime("%a") == "Mon"


# -- the scheduler, in process ---------------------------------------------------------------

def daemon(db_path, url, schedule="* * * * *", **settings):
    lines = []
    config = Config(db=str(db_path), timeout=5, **settings)
    return Daemon(config, [Target("buildingtrust", url=url, schedule=schedule)],
                  log=lambda line, level="info": lines.append(line)), lines


def wait_for(predicate, timeout=15.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_start_schedules_a_catch_up_run_only_when_one_was_missed(db_path, site):
    url = site.serve(fixture_bytes("buildingtrust-older.html"))
    seed(db_path, url, datetime(2026, 11, 24, 6, 0, tzinfo=UTC))
    d, _ = daemon(db_path, url, schedule="0 7 * * *")
    before_seven = datetime(2026, 11, 24, 6, 30, tzinfo=UTC)
    assert d.scheduler(before_seven).get_job("buildingtrust").next_run_time == datetime(2026, 11, 24, 7, tzinfo=UTC)
    two_nights_later = datetime(2026, 11, 26, 6, 30, tzinfo=UTC)
    assert d.scheduler(two_nights_later).get_job("buildingtrust").next_run_time == two_nights_later


def test_never_checked_target_runs_at_once_and_logs_one_line(db_path, site):
    url = site.serve(fixture_bytes("buildingtrust-older.html"))
    d, lines = daemon(db_path, url, schedule="0 7 * * *")
    scheduler = d.scheduler(datetime.now(UTC))
    scheduler.start()
    try:
        wait_for(lambda: lines)
    finally:
        scheduler.shutdown()
    assert len(lines) == 1 and lines[0].startswith("target=buildingtrust outcome=first changes=")
    assert " version=1 check=1 " in lines[0] and lines[0].endswith("s")
    assert rows(db_path, "SELECT COUNT(*) FROM checks") == [(1,)]


def test_missed_runs_after_a_gap_coalesce_into_one(db_path, site):
    url = site.serve(fixture_bytes("buildingtrust-older.html"))
    d, lines = daemon(db_path, url, schedule="* * * * *", misfire_grace_time=3600)
    now = datetime.now(UTC)
    seed(db_path, url, now)  # just checked: no catch-up
    scheduler = d.scheduler(now)
    scheduler.start(paused=True)
    try:
        # The machine slept for ten minutes: ten every-minute runs are overdue, all within grace.
        scheduler.modify_job("buildingtrust", next_run_time=now - timedelta(minutes=10))
        scheduler.resume()
        wait_for(lambda: lines)
        time.sleep(1.0)  # room for any further (wrong) runs
        next_run = scheduler.get_job("buildingtrust").next_run_time
    finally:
        scheduler.shutdown()
    assert len(lines) == 1 and "outcome=unchanged" in lines[0]
    assert rows(db_path, "SELECT COUNT(*) FROM checks") == [(2,)]
    assert next_run > now


def test_a_run_later_than_the_grace_time_is_skipped(db_path, site):
    url = site.serve(fixture_bytes("buildingtrust-older.html"))
    d, lines = daemon(db_path, url, schedule="0 7 * * *", misfire_grace_time=60)
    now = datetime.now(UTC)
    seed(db_path, url, now)
    scheduler = d.scheduler(now)
    scheduler.start(paused=True)
    try:
        scheduler.modify_job("buildingtrust", next_run_time=now - timedelta(hours=2))
        scheduler.resume()
        time.sleep(1.0)
    finally:
        scheduler.shutdown()
    assert lines == [] and rows(db_path, "SELECT COUNT(*) FROM checks") == [(1,)]


def test_two_targets_never_run_at_once(db_path, stall, site):
    """One worker and one archive lock: the second target waits for the first to finish."""
    quick = site.serve(fixture_bytes("buildingtrust-older.html"), path="/quick")
    lines = []
    config = Config(db=str(db_path), timeout=20)
    d = Daemon(config, [Target("slow", url=stall.url), Target("quick", url=quick)],
               log=lambda line, level="info": lines.append(line))
    scheduler = d.scheduler(datetime.now(UTC))  # neither checked: both due now
    scheduler.start()
    try:
        assert stall.arrived.wait(10)
        quick_done = len(site.requests)  # "quick" may have gone first, and finished
        assert len(lines) == quick_done
        time.sleep(0.5)
        assert len(site.requests) == quick_done  # nothing starts while "slow" runs
        stall.release.set()
        wait_for(lambda: len(lines) == 2)
    finally:
        scheduler.shutdown()
    order = ["target=quick", "target=slow"] if quick_done else ["target=slow", "target=quick"]
    assert [line.split()[0] for line in lines] == order


def test_the_daemon_waits_for_a_cron_run_holding_the_lock(db_path, site):
    url = site.serve(fixture_bytes("buildingtrust-older.html"))
    holder = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(f"""
            import time
            from schedules.lock import archive_lock
            with archive_lock({str(db_path)!r}):
                print("held", flush=True)
                time.sleep(1.5)
        """)],
        stdout=subprocess.PIPE, text=True, env=env(),
    )
    assert holder.stdout.readline() == "held\n"
    d, lines = daemon(db_path, url)
    started = time.monotonic()
    d.run_once(d.targets[0])
    assert time.monotonic() - started >= 0.5 and holder.wait(10) == 0
    assert len(lines) == 1 and "outcome=first" in lines[0]


def test_the_lock_is_exclusive_and_released_on_exit(db_path):
    with archive_lock(db_path):
        with pytest.raises(ArchiveBusy, match=rf"\(pid {os.getpid()}\) holds {db_path}.lock; nothing written"):
            with archive_lock(db_path):
                pass
    with archive_lock(db_path):  # free again
        pass


def test_log_line_quotes_values_with_spaces():
    line = log_line("bt", "failed", 0.5, reason='HTTP 503 "busy"', check=4)
    assert line == 'target=bt outcome=failed reason="HTTP 503 \\"busy\\"" check=4 duration=0.50s'


# -- real processes ----------------------------------------------------------------------------

def test_overlapping_run_exits_75_at_once_and_writes_nothing(db_path, stall, site):
    seed(db_path, site.serve(fixture_bytes("buildingtrust-older.html")), datetime.now(UTC))
    before = rows(db_path, "SELECT COUNT(*) FROM checks")
    first = subprocess.Popen(copswatch("run", "--db", db_path, "--url", stall.url),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env())
    try:
        assert stall.arrived.wait(20)  # the first run is fetching, holding the lock
        started = time.monotonic()
        second = subprocess.run(copswatch("run", "--db", db_path, "--url", stall.url),
                                capture_output=True, text=True, env=env(), timeout=30)
        assert second.returncode == 75, second.stderr
        assert time.monotonic() - started < 10
        assert second.stdout == ""
        assert second.stderr.startswith("Error: archive is busy: another copswatch check (pid ")
        assert f"pid {first.pid})" in second.stderr and second.stderr.count("\n") == 1
        assert stall.count == 1  # the second never even fetched
        assert rows(db_path, "SELECT COUNT(*) FROM checks") == before
    finally:
        stall.release.set()
        out, err = first.communicate(timeout=30)
    assert first.returncode == 0, err
    assert rows(db_path, "SELECT outcome FROM checks ORDER BY id") == [("first",), ("changed",)]
    consistent(db_path)


def start_daemon(tmp_path, db_path, url, *extra):
    config = tmp_path / "copswatch.toml"
    config.write_text(f'[targets.buildingtrust]\nurl = "{url}"\nschedule = "0 7 * * *"\n', encoding="utf-8")
    return subprocess.Popen(copswatch("schedule", "--config", config, "--db", db_path, *extra),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env())


def test_sigterm_mid_run_lets_the_run_finish_then_exits_0(tmp_path, db_path, stall, site):
    seed(db_path, site.serve(fixture_bytes("buildingtrust-older.html")), datetime(2020, 1, 1, tzinfo=UTC))
    process = start_daemon(tmp_path, db_path, stall.url)
    try:
        assert stall.arrived.wait(20), "no catch-up run"
        cron = subprocess.run(copswatch("run", "--db", db_path, "--url", stall.url),
                              capture_output=True, text=True, env=env(), timeout=30)
        assert cron.returncode == 75 and f"(pid {process.pid})" in cron.stderr  # cron never overlaps the daemon
        process.send_signal(signal.SIGTERM)
        time.sleep(0.5)
        stall.release.set()  # the page arrives after the signal
        out, err = process.communicate(timeout=30)
    finally:
        process.kill()
    assert process.returncode == 0, err
    assert "target=buildingtrust outcome=changed" in err and err.rstrip().endswith("stopped")
    assert rows(db_path, "SELECT outcome FROM checks ORDER BY id") == [("first",), ("changed",)]
    consistent(db_path)


def test_sigterm_during_a_stalled_fetch_abandons_it_cleanly_and_exits_0(tmp_path, db_path, stall, site):
    seed(db_path, site.serve(fixture_bytes("buildingtrust-older.html")), datetime(2020, 1, 1, tzinfo=UTC))
    process = start_daemon(tmp_path, db_path, stall.url, "--stop-grace", "0.5")
    try:
        assert stall.arrived.wait(20), "no catch-up run"
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=20)  # the server never answers
    finally:
        process.kill()
    assert process.returncode == 0, err
    assert "abandoned the run of target=buildingtrust" in err
    assert rows(db_path, "SELECT outcome FROM checks ORDER BY id") == [("first",)]  # nothing of it recorded
    consistent(db_path)
    with Archive(db_path) as archive, make_client() as client:  # and the archive carries on
        assert run_check(archive, client, "buildingtrust", site.url()).outcome == "unchanged"


def test_sigint_when_idle_exits_0(tmp_path, db_path, site):
    url = site.serve(fixture_bytes("buildingtrust-older.html"))
    seed(db_path, url, datetime.now(UTC))
    process = start_daemon(tmp_path, db_path, url)
    try:
        assert process.stderr.readline().startswith("scheduled target=buildingtrust next_run=")
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=20)
    finally:
        process.kill()
    assert process.returncode == 0 and err.strip() == "stopped"
    assert rows(db_path, "SELECT COUNT(*) FROM checks") == [(1,)]


def test_journald_gets_syslog_priorities(tmp_path, db_path, site):
    url = site.serve(b"<html><body>nothing here</body></html>", status=503)
    process = subprocess.Popen(
        copswatch("schedule", "--db", db_path, "--target", "bt", "--stop-grace", "5"),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**env(), "JOURNAL_STREAM": "8:1234", "COPSWATCH_URL": url},
    )
    try:
        wait_for(lambda: count_checks(db_path) == 1)
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=20)
    finally:
        process.kill()
    assert process.returncode == 0
    lines = err.splitlines()
    assert lines[0].startswith("<6>scheduled target=bt next_run=") and lines[0].endswith("(catch-up: a scheduled run was missed)")
    assert lines[1].startswith("<4>target=bt outcome=failed ") and 'reason="HTTP 503 Service Unavailable"' in lines[1]
    assert lines[2:] == ["<6>stopped"]


def test_day_of_month_or_weekday_as_in_cron():
    trigger = cron_trigger("0 7 13 * 5", "UTC")  # the 13th, and every Friday
    moment, days = datetime(2026, 11, 1, tzinfo=UTC), []
    for _ in range(5):
        moment = trigger.get_next_fire_time(None, moment + timedelta(seconds=1))
        days.append(moment.strftime("%d %a"))
    assert days == ["06 Fri", "13 Fri", "20 Fri", "27 Fri", "04 Fri"]  # the 13th is a Friday: one run
    moment, days = datetime(2026, 12, 1, tzinfo=UTC), []
    for _ in range(5):
        moment = trigger.get_next_fire_time(None, moment + timedelta(seconds=1))
        days.append(moment.strftime("%d %a"))
    assert days == ["04 Fri", "11 Fri", "13 Sun", "18 Fri", "25 Fri"]
    # A field starting with "*" is unrestricted for this rule (crontab(5)): odd days that are Fridays.
    assert cron_trigger("0 7 */2 * 5", "UTC").get_next_fire_time(None, datetime(2026, 12, 1, tzinfo=UTC)).day == 11


weekday_item = st.one_of(
    st.integers(0, 7).map(str),
    st.tuples(st.integers(0, 7), st.integers(0, 7), st.sampled_from(["", "/2", "/3"])).filter(
        lambda t: t[0] <= t[1]).map(lambda t: f"{t[0]}-{t[1]}{t[2]}"),
    st.sampled_from(["*/2", "*/3", "mon-fri", "sat,sun"]),
)


@settings(max_examples=40, deadline=None)
@given(st.lists(weekday_item, min_size=1, max_size=3).map(",".join))
def test_weekday_field_fires_on_the_days_cron_would(field):
    names = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]
    expected = set()
    for item in field.split(","):  # cron's reading: 0 and 7 are Sunday, ranges inclusive, steps from the start
        span, _, step = item.partition("/")
        if span == "*":
            low, high = 0, 7
        elif "-" in span:
            low, high = (names.index(p) if p in names else int(p) for p in span.split("-"))
        else:
            low = high = names.index(span) if span in names else int(span)
        expected |= {day % 7 for day in range(low, high + 1, int(step or 1))}
    trigger = cron_trigger(f"0 12 * * {field}", "UTC")
    moment, fired = datetime(2026, 11, 22, tzinfo=UTC), set()  # a Sunday
    for _ in range(8):
        moment = trigger.get_next_fire_time(None, moment + timedelta(seconds=1))
        fired.add(int(moment.strftime("%w")))
    assert fired == expected
