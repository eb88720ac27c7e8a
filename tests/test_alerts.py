"""Alerts end to end with real receivers: an aiosmtpd SMTP server and an HTTP webhook on loopback."""

import email
import email.policy
import json
import socket
import sqlite3
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import feedparser
import pytest
from aiosmtpd.controller import Controller

from schedules.job import after_check
from scraper.fetch import make_client
from scraper.parse import parse
from storage.archive import Archive, Outcome
from tests.conftest import fixture_bytes

OLDER = fixture_bytes("buildingtrust-older.html")
NEWER = fixture_bytes("buildingtrust-newer.html")
NEW_TITLES = [
    "Risk Management in Law Enforcement: Discussions on Identifying and Mitigating Risk for Officers, "
    "Departments, and the Public",
    "Civilian Oversight of the Police in Major Cities",
    "Lessons to Advance Community Policing: Final Report for 2014 Microgrant Sites",
]


def new_links(page_url: str) -> list[str]:
    """The three new publications' links as served from ``page_url`` (one is relative in the fixture)."""
    return [p.url for p in parse(NEWER, page_url).publications[:3]]


SCRIPT_TITLE = "Civilian Oversight <script>alert(1)</script> & Co"
NEWER_WITH_SCRIPT = NEWER.replace(
    b"Civilian Oversight of the Police in Major Cities",
    b"Civilian Oversight &lt;script&gt;alert(1)&lt;/script&gt; &amp; Co",
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Mailbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
        return "250 OK"

    def bodies(self, message) -> tuple[str, str]:
        return tuple(message.get_body((kind,)).get_content().replace("\r\n", "\n") for kind in ("plain", "html"))


@pytest.fixture
def smtp():
    mailbox = Mailbox()
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    # A plain SMTP server: `mailto://` (not mailtos) is apprise's no-TLS form; no user, so no AUTH.
    mailbox.url = f"mailto://127.0.0.1:{port}?from=watch@example.org&to=reader@example.org"
    yield mailbox
    controller.stop()


class Webhook:
    """A JSON receiver on 127.0.0.1 that can be started late, on a port that refused connections before."""

    def __init__(self):
        self.port = free_port()
        self.posts: list[dict] = []
        self.server = None
        self.url = f"json://127.0.0.1:{self.port}/hook"

    def start(self):
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                hook.posts.append({"path": self.path, **json.loads(body)})
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        if self.server:
            self.server.shutdown()
            self.server.server_close()


@pytest.fixture
def webhook():
    hook = Webhook()
    hook.start()
    yield hook
    hook.stop()


@pytest.fixture
def down_webhook():
    hook = Webhook()  # nothing listens on its port yet: connection refused
    yield hook
    hook.stop()


def rows(db_path, sql, params=()):
    with sqlite3.connect(db_path) as conn:
        return conn.execute(sql, params).fetchall()


def test_older_to_newer_delivers_three_new_publications_once_by_email_webhook_and_feed(
    site, cli_run, smtp, webhook, tmp_path
):
    url = site.serve(OLDER)
    first = cli_run("run", "--url", url, "--notify", smtp.url, "--notify", webhook.url)
    assert first.exit_code == 0
    assert smtp.messages == [] and webhook.posts == []  # the first check is a baseline
    site.serve(NEWER)
    assert cli_run("run", "--url", url, "--notify", smtp.url, "--notify", webhook.url).exit_code == 0

    (mail,) = smtp.messages  # one message per run and channel, carrying the three publications
    text, html = smtp.bodies(mail)
    assert "3 new" in mail["Subject"]
    NEW_LINKS = new_links(url)
    for title, link in zip(NEW_TITLES, NEW_LINKS):
        assert f"New publication: {title}" in text and link in text
        assert f'<a href="{link}">' in html and title in html
    assert text.count("New publication:") == 3 and html.count("New publication:") == 3
    assert "Removed" not in text  # reordering and the unchanged six are no alerts
    assert f"Page: {url}" in text
    (post,) = webhook.posts
    assert post["path"] == "/hook" and "3 new" in post["title"]
    assert post["message"].count("New publication:") == 3
    assert all(title in post["message"] and link in post["message"] for title, link in zip(NEW_TITLES, NEW_LINKS))

    listed = cli_run("alerts", "list", "--json")
    assert listed.exit_code == 0
    assert len(listed.data) == 6 and {d["status"] for d in listed.data} == {"sent"}
    assert {d["event"]["title"] for d in listed.data} == set(NEW_TITLES)
    assert all(d["attempts"] == 1 and d["sent_at"] for d in listed.data)

    for _ in range(5):  # many later nights with the same publications: never again
        assert cli_run("run", "--url", url, "--notify", smtp.url, "--notify", webhook.url).exit_code == 0
    assert len(smtp.messages) == 1 and len(webhook.posts) == 1

    out = tmp_path / "feed.xml"
    assert cli_run("feed", "--output", out).exit_code == 0
    parsed = feedparser.parse(out.read_bytes())
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert len(parsed.entries) == 3
    assert {e.link for e in parsed.entries} == set(NEW_LINKS)
    assert {e.title for e in parsed.entries} == {f"New publication: {t}" for t in NEW_TITLES}
    ids = [e.id for e in parsed.entries]
    assert len(set(ids)) == 3 and all(i.startswith("tag:copswatch,2026:buildingtrust/2/added/cops-w0") for i in ids)
    again = cli_run("feed")  # stable ids: the same entries again on stdout
    assert [e.id for e in feedparser.parse(again.stdout).entries] == ids


def test_scraped_markup_stays_text_in_email_webhook_and_feed(site, cli_run, smtp, webhook, tmp_path):
    url = site.serve(OLDER)
    cli_run("run", "--url", url)
    site.serve(NEWER_WITH_SCRIPT)
    assert cli_run("run", "--url", url, "--notify", smtp.url, "--notify", webhook.url).exit_code == 0
    text, html = smtp.bodies(smtp.messages[0])
    assert "<script>" not in html
    assert "Civilian Oversight &lt;script&gt;alert(1)&lt;/script&gt; &amp; Co" in html
    assert SCRIPT_TITLE in text  # plain text is plain: the title as published
    assert SCRIPT_TITLE in webhook.posts[0]["message"]
    feed = tmp_path / "feed.xml"
    cli_run("feed", "-o", feed)
    raw = feed.read_text(encoding="utf-8")
    assert "<script>" not in raw
    titles = [e.title for e in feedparser.parse(raw).entries]
    assert f"New publication: {SCRIPT_TITLE}" in titles  # read back as text, not markup


def test_channel_down_on_first_run_then_up_delivers_exactly_once(site, cli_run, down_webhook, db_path):
    url = site.serve(OLDER)
    cli_run("run", "--url", url, "--notify", down_webhook.url)
    site.serve(NEWER)
    down = cli_run("run", "--url", url, "--notify", down_webhook.url, "--json")
    assert down.exit_code == 0 and down.data["outcome"] == "changed"  # the check itself succeeded
    assert "not delivered" in down.stderr and "3 pending" in down.stderr
    pending = cli_run("alerts", "list", "--pending", "--json").data
    assert len(pending) == 3
    assert all(d["status"] == "pending" and d["attempts"] == 1 and d["last_error"] for d in pending)
    assert all(d["channel"] == f"json://127.0.0.1:{down_webhook.port}/hook" for d in pending)

    down_webhook.start()
    assert cli_run("run", "--url", url, "--notify", down_webhook.url).exit_code == 0  # an unchanged night
    assert len(down_webhook.posts) == 1
    assert down_webhook.posts[0]["message"].count("New publication:") == 3
    assert cli_run("alerts", "list", "--pending", "--json").data == []
    sent = cli_run("alerts", "list", "--json").data
    assert [d["attempts"] for d in sent] == [2, 2, 2] and all(d["last_error"] is None for d in sent)
    cli_run("run", "--url", url, "--notify", down_webhook.url)
    retry = cli_run("alerts", "retry", "--notify", down_webhook.url, "--json")
    assert retry.exit_code == 0 and retry.data == {"sent": 0, "failed": 0, "pending": 0, "unconfigured": 0}
    assert len(down_webhook.posts) == 1
    assert rows(db_path, "SELECT COUNT(*) FROM deliveries") == [(3,)]


def test_alerts_retry_delivers_what_a_run_could_not(site, cli_run, down_webhook):
    url = site.serve(OLDER)
    cli_run("run", "--url", url)
    site.serve(NEWER)
    cli_run("run", "--url", url, "--notify", down_webhook.url)
    still_down = cli_run("alerts", "retry", "--notify", down_webhook.url, "--json")
    assert still_down.exit_code == 1 and still_down.data["failed"] == 3 and still_down.data["pending"] == 3
    unknown = cli_run("alerts", "retry", "--json")  # no channel configured: nothing sent, nothing lost
    assert unknown.exit_code == 0 and unknown.data["unconfigured"] == 3
    down_webhook.start()
    retried = cli_run("alerts", "retry", "--notify", down_webhook.url, "--json")
    assert retried.exit_code == 0 and retried.data["sent"] == 3 and retried.data["pending"] == 0
    assert cli_run("alerts", "retry", "--notify", down_webhook.url).exit_code == 0
    assert len(down_webhook.posts) == 1
    assert [d["attempts"] for d in cli_run("alerts", "list", "--json").data] == [3, 3, 3]


def test_removed_then_restored_alerts_as_reappeared_not_new(site, cli_run, webhook):
    url = site.serve(OLDER)
    notify = ("--notify", webhook.url)
    cli_run("run", "--url", url, *notify)
    site.serve(NEWER)
    cli_run("run", "--url", url, *notify)
    site.serve(OLDER)  # the three are taken down
    cli_run("run", "--url", url, *notify)
    site.serve(NEWER)  # and restored
    cli_run("run", "--url", url, *notify)
    added, removed, restored = (p["message"] for p in webhook.posts)
    assert added.count("New publication:") == 3
    assert removed.count("Removed:") == 3 and "New publication" not in removed
    assert restored.count("Reappeared") == 3 and "New publication" not in restored
    assert all(t in restored for t in NEW_TITLES)
    kinds = [d["kind"] for d in cli_run("alerts", "list", "--json").data]
    assert kinds == ["added"] * 3 + ["removed"] * 3 + ["reappeared"] * 3


def test_failed_fetch_and_unreadable_page_send_no_publication_alert(site, cli_run, webhook, db_path):
    url = site.serve(OLDER)
    cli_run("run", "--url", url, "--notify", webhook.url)
    site.serve(b"busy", status=503)
    assert cli_run("run", "--url", url, "--notify", webhook.url).exit_code == 1
    site.serve(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00", headers={"Content-Type": "image/png"})
    assert cli_run("run", "--url", url, "--notify", webhook.url).exit_code == 1
    site.serve(OLDER)  # back as it was: nothing changed, nothing to say
    assert cli_run("run", "--url", url, "--notify", webhook.url).exit_code == 0
    assert webhook.posts == []
    assert rows(db_path, "SELECT COUNT(*) FROM deliveries") == [(0,)]


def test_anomaly_alerts_the_operator_and_never_about_publications(site, db_path, webhook, smtp):
    from notify.channels import channels, operator_channels
    from schedules.job import run_check

    publication = channels([smtp.url])
    operator = operator_channels([webhook.url])
    with Archive(db_path) as archive, make_client() as client:
        url = site.serve(NEWER)
        run_check(archive, client, "buildingtrust", url)
        # What the parser issue's run_check records for a page that is not believable:
        for _ in range(2):
            result = archive.record_failure("buildingtrust", url, archive_now(), "listing shrank from 9 to 0",
                                            outcome=Outcome.ANOMALY)
            after_check(archive, result, channels=publication, operator_channels=operator)
        site.serve(NEWER)
        result = run_check(archive, client, "buildingtrust", url, alerts=tuple(c.subscription for c in publication))
        after_check(archive, result, channels=publication, operator_channels=operator)
    assert smtp.messages == []
    anomaly, recovered = webhook.posts  # one alert for the run of two anomalies, one recovery notice
    assert "anomaly" in anomaly["title"] and "listing shrank from 9 to 0" in anomaly["message"]
    assert "no publication alerts were sent" in anomaly["message"]
    assert "recovered" in recovered["title"] and "after 2 bad checks" in recovered["message"]


def archive_now():
    from scraper.fetch import utcnow

    return utcnow()


def test_failed_streak_alerts_the_operator_once_then_recovery(site, cli_run, webhook, monkeypatch):
    monkeypatch.setenv("COPSWATCH_OPERATOR_NOTIFY", webhook.url)
    url = site.serve(OLDER)
    cli_run("run", "--url", url)
    site.serve(b"", status=500)
    for night in range(5):
        cli_run("run", "--url", url)
        assert len(webhook.posts) == (0 if night < 2 else 1)
    (failing,) = webhook.posts
    assert "3 failed checks in a row" in failing["title"] and "HTTP 500" in failing["message"]
    site.serve(OLDER)
    cli_run("run", "--url", url)
    cli_run("run", "--url", url)
    assert len(webhook.posts) == 2
    assert "recovered" in webhook.posts[1]["title"] and "after 5 bad checks" in webhook.posts[1]["message"]


def test_two_failures_below_the_streak_alert_nobody(site, cli_run, webhook, monkeypatch):
    monkeypatch.setenv("COPSWATCH_OPERATOR_NOTIFY", webhook.url)
    monkeypatch.setenv("COPSWATCH_FAILURE_STREAK", "3")
    url = site.serve(OLDER)
    cli_run("run", "--url", url)
    site.serve(b"", status=500)
    cli_run("run", "--url", url)
    cli_run("run", "--url", url)
    site.serve(OLDER)
    cli_run("run", "--url", url)
    assert webhook.posts == []


def test_alert_on_first_and_opt_in_kinds(site, cli_run, webhook):
    url = site.serve(OLDER)
    cli_run("run", "--url", url, "--notify", webhook.url, "--alert-on-first")
    assert webhook.posts[0]["message"].count("New publication:") == 6
    edited = OLDER.replace(b"Examines the successes", b"Examines the many successes")
    site.serve(edited)
    cli_run("run", "--url", url, "--notify", webhook.url)
    assert len(webhook.posts) == 1  # modified is opt-in
    site.serve(OLDER)
    cli_run("run", "--url", url, "--notify", webhook.url, "--alert-on", "modified", "--alert-on", "added")
    (_, modified) = webhook.posts
    assert "Modified: COPS Evaluation Brief No. 3" in modified["message"]
    assert "description: 'Examines the many successes" in modified["message"]
    assert "→ 'Examines the successes" in modified["message"]


def test_secrets_are_never_stored_or_printed(site, cli_run, db_path, tmp_path):
    port = free_port()  # nothing listens: the delivery fails and its error is stored
    secret_url = f"mailto://watcher:Sup3rS3cret@127.0.0.1:{port}?from=watch@example.org&to=reader@example.org"
    url = site.serve(OLDER)
    cli_run("run", "--url", url)
    site.serve(NEWER)
    result = cli_run("run", "--url", url, "--notify", secret_url)
    assert result.exit_code == 0
    assert "Sup3rS3cret" not in result.stdout + result.stderr
    listed = cli_run("alerts", "list")
    assert "Sup3rS3cret" not in listed.stdout and "watcher:****@127.0.0.1" in listed.stdout
    for path in tmp_path.glob("archive.db*"):
        assert b"Sup3rS3cret" not in path.read_bytes()


def test_channels_from_config_file_option_and_environment(site, cli_run, webhook, smtp, tmp_path, monkeypatch):
    config = tmp_path / "copswatch.toml"
    config.write_text(f'feed = "{tmp_path / "out.xml"}"\n[targets.bt]\nurl = "{site.url()}"\nnotify = ["{smtp.url}"]\n')
    site.serve(OLDER)
    cli_run("run", "--config", config)
    site.serve(NEWER)
    assert cli_run("run", "--config", config, "--notify", webhook.url).exit_code == 0
    assert len(smtp.messages) == 1 and len(webhook.posts) == 1
    assert len(feedparser.parse((tmp_path / "out.xml").read_bytes()).entries) == 3  # written after the run

    monkeypatch.setenv("COPSWATCH_NOTIFY", f"  {webhook.url}\n")  # replaces the file's channels
    site.serve(OLDER)
    assert cli_run("run", "--config", config).exit_code == 0
    assert len(smtp.messages) == 1 and len(webhook.posts) == 2
    assert webhook.posts[1]["message"].count("Removed:") == 3


def test_unusable_channel_url_is_a_usage_error(site, cli_run, db_path):
    result = cli_run("run", "--url", site.serve(OLDER), "--notify", "nosuchscheme://secret@host")
    assert result.exit_code == 2 and "apprise" in result.stderr and "secret" not in result.stderr
    assert not Path(db_path).exists()  # refused before anything was recorded


def test_recording_without_channels_enqueues_nothing(site, db_path):
    from schedules.job import run_check

    with Archive(db_path) as archive, make_client() as client:
        url = site.serve(OLDER)
        run_check(archive, client, "t", url)
        site.serve(NEWER)
        run_check(archive, client, "t", url)
    assert rows(db_path, "SELECT COUNT(*) FROM events WHERE kind = 'added'") == [(9,)]
    assert rows(db_path, "SELECT COUNT(*) FROM deliveries") == [(0,)]


def test_a_crash_after_delivery_never_sends_again(site, cli_run, webhook, tmp_path, monkeypatch):
    import notify.feed

    monkeypatch.setenv("COPSWATCH_FEED", str(tmp_path / "feed.xml"))
    url = site.serve(OLDER)
    cli_run("run", "--url", url, "--notify", webhook.url)
    site.serve(NEWER)
    write = notify.feed.write

    def crash(*args, **kwargs):  # the process dies after delivering, before anything else
        raise SystemExit(137)

    monkeypatch.setattr(notify.feed, "write", crash)
    assert cli_run("run", "--url", url, "--notify", webhook.url).exit_code == 137
    assert len(webhook.posts) == 1
    monkeypatch.setattr(notify.feed, "write", write)
    assert cli_run("run", "--url", url, "--notify", webhook.url).exit_code == 0
    assert len(webhook.posts) == 1
    assert len(feedparser.parse((tmp_path / "feed.xml").read_bytes()).entries) == 3


def test_events_and_their_deliveries_are_one_transaction(site, db_path):
    from notify.channels import channels
    from schedules.job import run_check

    subscriptions = tuple(c.subscription for c in channels(["json://127.0.0.1:9/a", "json://127.0.0.1:9/b"]))
    with Archive(db_path) as archive, make_client() as client:
        url = site.serve(OLDER)
        run_check(archive, client, "t", url, alerts=subscriptions)
        archive.conn.execute(
            "CREATE TRIGGER boom BEFORE INSERT ON spotlight_items BEGIN SELECT RAISE(ABORT, 'disk full'); END")
        site.serve(NEWER)
        with pytest.raises(sqlite3.IntegrityError):
            run_check(archive, client, "t", url, alerts=subscriptions)
        assert rows(db_path, "SELECT COUNT(*) FROM deliveries") == [(0,)]
        assert rows(db_path, "SELECT COUNT(*) FROM events") == [(6,)]  # the baseline's only
        archive.conn.execute("DROP TRIGGER boom")
        run_check(archive, client, "t", url, alerts=subscriptions)
    keys = [r[0] for r in rows(db_path, "SELECT idempotency_key FROM deliveries ORDER BY id")]
    assert len(keys) == 6 and len(set(keys)) == 6  # three events × two channels
    assert all(k.startswith("event:") for k in keys)


def test_alert_commands_have_help(cli_run):
    for argv in (["alerts"], ["alerts", "list"], ["alerts", "retry"], ["feed"]):
        result = cli_run(*argv, "--help", db=False)
        assert result.exit_code == 0 and "Usage:" in result.stdout


def test_alerts_list_on_an_empty_archive(site, cli_run):
    cli_run("run", "--url", site.serve(OLDER))
    listed = cli_run("alerts", "list", "--pending")
    assert listed.exit_code == 0 and "no pending deliveries" in listed.stdout
    assert cli_run("alerts", "list", "--json").data == []


@pytest.mark.parametrize("setting, message", [
    ("failure_streak = 0", "failure_streak must be a whole number"),
    ('alert_on = ["added", "renamed"]', "alert_on must be a list of event kinds"),
    ("operator_notify = 3", "operator_notify must be a list of apprise URLs"),
    ('[targets.bt]\nalert_on = ["sometimes"]', "targets.bt.alert_on must be a list of event kinds"),
])
def test_bad_alert_settings_are_usage_errors(cli_run, tmp_path, setting, message):
    config = tmp_path / "copswatch.toml"
    config.write_text(setting + "\n")
    result = cli_run("alerts", "list", "--config", config)
    assert result.exit_code == 2 and message in result.stderr


def test_alert_settings_from_file_and_environment(tmp_path):
    from copswatch.config import load

    config = tmp_path / "c.toml"
    config.write_text('alert_on = "added modified"\nfailure_streak = 5\n[targets.bt]\nnotify = "json://a json://b"\n')
    loaded = load(str(config), env={"COPSWATCH_FAILURE_STREAK": "2", "COPSWATCH_OPERATOR_NOTIFY": "ntfy://x ntfy://y"})
    assert loaded.alert_on == ("added", "modified") and loaded.failure_streak == 2
    assert loaded.operator_notify == ("ntfy://x", "ntfy://y") and loaded.targets["bt"].notify == ("json://a", "json://b")
    assert "json://a" not in repr(loaded)  # channel URLs may hold secrets: never in a repr or a log


def test_rows_claimed_by_another_deliverer_are_left_alone(site, cli_run, db_path, webhook):
    from notify.channels import channels
    from notify.deliver import deliver_pending
    from storage import outbox

    url = site.serve(OLDER)
    cli_run("run", "--url", url)
    site.serve(NEWER)
    cli_run("run", "--url", url, "--notify", "json://127.0.0.1:9/unused")  # enqueued for another channel
    hook = channels([webhook.url])
    with Archive(db_path) as archive:
        archive.conn.execute("UPDATE deliveries SET channel_id = ?, channel = ?", [hook[0].id, hook[0].display])
        archive.conn.commit()
        ids = [d.id for d in outbox.deliveries(archive, pending_only=True)]
        assert outbox.claim(archive, ids[:1]) == ids[:1]  # another process is sending the first one
        assert outbox.claim(archive, ids) == ids[1:]  # a claim is exclusive
        archive.conn.execute("UPDATE deliveries SET claimed_until = NULL WHERE id != ?", [ids[0]])
        archive.conn.commit()
        attempts = deliver_pending(archive, hook)
        assert [a.delivery_ids for a in attempts] == [tuple(ids[1:])]
        expired = "2000-01-01T00:00:00.000+00:00"
        archive.conn.execute("UPDATE deliveries SET claimed_until = ? WHERE id = ?", [expired, ids[0]])
        archive.conn.commit()
        assert [a.delivery_ids for a in deliver_pending(archive, hook)] == [(ids[0],)]
    assert [p["message"].count("New publication:") for p in webhook.posts] == [2, 1]
    assert rows(db_path, "SELECT COUNT(*) FROM deliveries WHERE status = 'sent' AND claimed_until IS NULL") == [(3,)]


def test_any_sequence_of_nights_and_outages_delivers_each_event_exactly_once(tmp_path):
    """Random listings night after night, the channel up or down (HTTP 500) each night: once all is
    retried with the channel up, the receiver got every alerting event exactly once, in order."""
    from datetime import UTC, datetime, timedelta

    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    from notify.channels import channels
    from notify.deliver import deliver_pending
    from scraper.model import FetchResult, Page, Publication

    hook = Webhook()
    state = {"up": True}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            if state["up"]:
                hook.posts.append(json.loads(body))
            self.send_response(200 if state["up"] else 500)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    hook.server = ThreadingHTTPServer(("127.0.0.1", hook.port), Handler)
    threading.Thread(target=hook.server.serve_forever, daemon=True).start()
    channel = channels([hook.url])
    labels = {"New publication": "added", "Reappeared (listed before, then removed, now back)": "reappeared",
              "Removed": "removed"}
    runs = iter(range(10**6))

    @settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(st.lists(st.tuples(st.sets(st.integers(0, 5), min_size=1), st.booleans()), min_size=2, max_size=6))
    def check(nights):
        hook.posts.clear()
        path = tmp_path / f"a{next(runs)}.db"
        start = datetime(2026, 1, 1, tzinfo=UTC)
        with Archive(path) as archive:
            for night, (listed, up) in enumerate(nights):
                state["up"] = up
                page = Page("https://example.org/bt", "t", "h", "", tuple(
                    Publication(f"k{i}", f"Pub {i}", f"https://example.org/{i}.pdf", "", pos)
                    for pos, i in enumerate(sorted(listed), 1)))
                fetch = FetchResult("https://example.org/bt", "https://example.org/bt", 200, {},
                                    str(sorted(listed)).encode(), start + timedelta(days=night), 1.0)
                archive.record_page("bt", fetch, page, "1", alerts=(channel[0].subscription,))
                deliver_pending(archive, channel)
            state["up"] = True
            deliver_pending(archive, channel)
            expected = archive.conn.execute(
                "SELECT e.kind, p.key FROM events e JOIN publications p ON p.id = e.publication_id "
                "JOIN versions v ON v.id = e.version_id WHERE v.previous_version_id IS NOT NULL "
                "AND e.kind IN ('added', 'reappeared', 'removed') ORDER BY e.id").fetchall()
            assert archive.conn.execute("SELECT COUNT(*) FROM deliveries WHERE status = 'pending'").fetchone() == (0,)
        received = [
            (labels[line.split(": Pub ")[0]], "k" + line.split(": Pub ")[1])
            for post in hook.posts for line in post["message"].splitlines() if ": Pub " in line
        ]
        assert received == [tuple(row) for row in expected]

    try:
        check()
    finally:
        hook.stop()


def test_smtp_server_down_then_up_gets_the_email_exactly_once(site, cli_run):
    mailbox = Mailbox()
    port = free_port()  # no SMTP server yet: connection refused
    url = f"mailto://127.0.0.1:{port}?from=watch@example.org&to=reader@example.org"
    page = site.serve(OLDER)
    cli_run("run", "--url", page, "--notify", url)
    site.serve(NEWER)
    assert "not delivered" in cli_run("run", "--url", page, "--notify", url).stderr
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        for _ in range(3):
            assert cli_run("run", "--url", page, "--notify", url).exit_code == 0
    finally:
        controller.stop()
    (mail,) = mailbox.messages
    text, _ = mailbox.bodies(mail)
    assert [t for t in NEW_TITLES if f"New publication: {t}" in text] == NEW_TITLES


def test_pending_alerts_survive_history_being_re_derived(site, cli_run, down_webhook, db_path):
    url = site.serve(OLDER)
    cli_run("run", "--url", url)
    site.serve(NEWER)
    cli_run("run", "--url", url, "--notify", down_webhook.url)
    with sqlite3.connect(db_path) as conn:  # what `reparse` does first: events are rebuilt from scratch
        conn.execute("DELETE FROM events")
    down_webhook.start()
    retried = cli_run("alerts", "retry", "--notify", down_webhook.url, "--json")
    assert retried.exit_code == 0 and retried.data["sent"] == 3
    (post,) = down_webhook.posts
    assert all(f"New publication: {t}" in post["message"] for t in NEW_TITLES)
