"""Polite fetching against a loopback server: conditional requests, robots.txt, redirects, content
types, proxies from the environment, and secrets kept out of the archive."""

import json
import sqlite3
import subprocess
import sys

import httpx
import pytest

from scraper.errors import FetchError, RobotsDisallowed
from scraper.fetch import USER_AGENT, FetchPolicy, fetch, make_client
from scraper.retry import RetryPolicy
from tests.conftest import fixture_bytes

OLDER = fixture_bytes("buildingtrust-older.html")
NEWER = fixture_bytes("buildingtrust-newer.html")
HTML = {"Content-Type": "text/html; charset=utf-8"}


def rows(db_path, sql):
    with sqlite3.connect(db_path) as conn:
        return conn.execute(sql).fetchall()


def test_304_is_an_unchanged_check_pointing_at_the_current_body(site, cli_run, db_path):
    validators = {"ETag": '"v1"', "Last-Modified": "Mon, 23 Nov 2026 07:00:00 GMT"}
    url = site.serve(OLDER, headers={**HTML, **validators})
    assert cli_run("run", "--url", url).exit_code == 0
    second = cli_run("run", "--url", url, "--json")
    third = cli_run("run", "--url", url, "--json")

    assert second.exit_code == 0 and second.data["outcome"] == "unchanged" and second.data["version_id"] == 1
    page_requests = [r["headers"] for r in site.requests if r["path"] == "/buildingtrust"]
    assert "If-None-Match" not in page_requests[0]
    for headers in page_requests[1:]:
        assert headers["If-None-Match"] == '"v1"'
        assert headers["If-Modified-Since"] == validators["Last-Modified"]
    assert third.data["outcome"] == "unchanged"
    assert rows(db_path, "SELECT outcome, http_status, body_id, etag, last_modified FROM checks ORDER BY id") == [
        ("first", 200, 1, '"v1"', validators["Last-Modified"]),
        ("unchanged", 304, 1, '"v1"', validators["Last-Modified"]),
        ("unchanged", 304, 1, '"v1"', validators["Last-Modified"]),
    ]
    assert rows(db_path, "SELECT COUNT(*) FROM bodies") == [(1,)]

    site.serve(NEWER, headers={**HTML, "ETag": '"v2"'})  # the server's copy changed: a full answer
    changed = cli_run("run", "--url", url, "--json")
    assert changed.data["outcome"] == "changed" and len(changed.data["changes"]["added"]) == 3


def test_unsolicited_304_before_any_capture_is_a_failure(site, cli_run, db_path):
    url = site.serve(b"", status=304, headers={})
    result = cli_run("run", "--url", url, "--json")
    assert result.exit_code == 1 and result.data["outcome"] == "failed"
    assert "304" in result.data["reason"]


def test_robots_disallow_is_a_clear_failure_unless_overridden(site, cli_run, db_path, monkeypatch):
    url = site.serve(OLDER)
    site.serve(b"User-agent: copswatch\nDisallow: /buildingtrust\n", path="/robots.txt",
               headers={"Content-Type": "text/plain"})
    refused = cli_run("run", "--url", url, "--json")
    assert refused.exit_code == 1 and refused.data["outcome"] == "failed"
    assert "robots.txt disallows" in refused.data["reason"] and "ignore_robots" in refused.data["reason"]
    assert site.hits() == 0  # the page itself was never requested

    monkeypatch.setenv("COPSWATCH_IGNORE_ROBOTS", "true")
    allowed = cli_run("run", "--url", url, "--json")
    assert allowed.exit_code == 0 and allowed.data["outcome"] == "first"


def test_robots_rules_for_other_agents_do_not_apply_and_are_fetched_once(site):
    url = site.serve(OLDER)
    site.serve(b"User-agent: otherbot\nDisallow: /\n\nUser-agent: *\nDisallow: /private\n",
               path="/robots.txt", headers={"Content-Type": "text/plain"})
    with make_client() as client:
        assert fetch(client, url).status == 200
        assert fetch(client, url).status == 200
        with pytest.raises(RobotsDisallowed):
            fetch(client, site.url("/private/page"))
    assert site.hits("/robots.txt") == 1  # cached for the process


def test_robots_server_error_means_do_not_fetch(site):
    url = site.serve(OLDER)
    site.fault("status", path="/robots.txt", status=503)
    policy = FetchPolicy(retry=RetryPolicy(attempts=2, backoff_base=0.01, backoff_cap=0.01))
    with make_client() as client, pytest.raises(FetchError, match=r"robots.txt answered HTTP 503.*gave up after 2"):
        fetch(client, url, policy=policy)
    assert site.hits() == 0
    assert site.hits("/robots.txt") == 2  # retried like any transient failure


def test_robots_txt_that_fails_once_is_retried_then_the_page_fetched(site, cli_run):
    url = site.serve(OLDER)
    site.fault("reset", path="/robots.txt", times=1)
    result = cli_run("run", "--url", url, "--json")
    assert result.exit_code == 0 and result.data["outcome"] == "first"
    assert site.hits("/robots.txt") == 2


def test_redirect_chain_and_final_url_are_recorded(site, cli_run, db_path):
    # Benign redirects (trailing slash, index page) still land on the page; see schedules/guard.py.
    url = site.serve(OLDER, path="/buildingtrust/index.html")
    site.serve(b"", path="/buildingtrust", status=301, headers={"Location": "/buildingtrust/"})
    site.serve(b"", path="/buildingtrust/", status=302, headers={"Location": "/buildingtrust/index.html"})
    result = cli_run("run", "--url", site.url("/buildingtrust"), "--json")
    assert result.exit_code == 0 and result.data["outcome"] == "first"
    final_url, redirects = rows(db_path, "SELECT final_url, redirects FROM checks")[0]
    assert final_url == url
    assert json.loads(redirects) == [site.url("/buildingtrust"), site.url("/buildingtrust/")]


def test_non_html_content_type_is_an_anomaly_kept_as_evidence(site, cli_run, db_path):
    body = b"%PDF-1.7 ..."
    url = site.serve(body, headers={"Content-Type": "application/pdf"})
    result = cli_run("run", "--url", url, "--json")
    assert result.exit_code == 1
    assert result.data["outcome"] == "anomaly" and result.data["reason"].startswith("not-html:")
    assert rows(db_path, "SELECT b.size FROM checks c JOIN bodies b ON b.id = c.body_id") == [(len(body),)]


def test_timeouts_and_user_agent_come_from_the_policy(site):
    url = site.serve(OLDER)
    policy = FetchPolicy(user_agent="copswatch-test/1 (+mailto:ops@example.org)")
    with make_client(user_agent=policy.user_agent, timeout=7, connect_timeout=2) as client:
        assert client.timeout == httpx.Timeout(7, connect=2)
        fetch(client, url, policy=policy)
    assert {r["headers"]["User-Agent"] for r in site.requests} == {policy.user_agent}
    assert USER_AGENT.startswith("copswatch/")


def test_proxy_from_environment_is_used_and_its_password_kept_out_of_the_archive(site, cli_run, db_path,
                                                                                 monkeypatch):
    site.serve(OLDER)
    proxy = f"http://watcher:s3cr3t-pw@127.0.0.1:{site.server.server_port}"
    monkeypatch.setenv("HTTP_PROXY", proxy)
    result = cli_run("run", "--url", "http://cops.example.invalid/buildingtrust", "--json")
    assert result.exit_code == 0 and result.data["outcome"] == "first"
    proxied = [r for r in site.requests if r["path"] == "http://cops.example.invalid/buildingtrust"]
    assert proxied and "Proxy-Authorization" in proxied[0]["headers"]  # it went through the proxy

    site.fault("reset")
    failed = cli_run("run", "--url", "http://cops.example.invalid/buildingtrust", "--json")
    assert failed.exit_code == 1
    assert "s3cr3t" not in failed.output + failed.stderr
    assert b"s3cr3t" not in db_path.read_bytes()
    with sqlite3.connect(db_path) as conn:
        assert not any("s3cr3t" in line for line in conn.iterdump())


def test_unreachable_proxy_reason_has_no_credentials(cli_run, monkeypatch):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("HTTP_PROXY", f"http://watcher:s3cr3t-pw@127.0.0.1:{port}")
    result = cli_run("run", "--url", "http://cops.example.invalid/buildingtrust", "--json")
    assert result.exit_code == 1 and "s3cr3t" not in result.output + result.stderr


def test_oversized_body_is_never_buffered_whole(site, tmp_path):
    """Peak memory of a real `copswatch run` fed an endless body stays far below what buffering it would take."""
    site.serve(OLDER)
    url = site.fault("oversized")
    db = tmp_path / "rss.db"
    measured = (
        "import atexit, resource, runpy, sys\n"
        "atexit.register(lambda: print('peak_kib', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,"
        " file=sys.stderr))\n"
        f"sys.argv = ['copswatch', 'run', '--url', {url!r}, '--db', {str(db)!r}, '--json']\n"
        "runpy.run_module('copswatch', run_name='__main__')\n"
    )
    run = subprocess.run([sys.executable, "-c", measured], capture_output=True, text=True, timeout=120,
                         env={"PATH": "/usr/bin:/bin", "COPSWATCH_MAX_BODY_SIZE": str(50 * 1024 * 1024)})
    assert run.returncode == 1, run.stderr
    assert "over the 52428800-byte limit; download stopped" in json.loads(run.stdout)["reason"]
    peak_kib = int(run.stderr.split("peak_kib")[1].split()[0])
    # 50 MiB is read and dropped; a program buffering the endless body would grow until killed.
    # The process (Python, httpx, sqlite) plus one copy of the 50 MiB buffer stays under 200 MiB.
    assert peak_kib < 200 * 1024


def test_fetch_settings_from_file_and_environment(tmp_path):
    from schedules.job import fetch_policy
    from copswatch.config import load

    path = tmp_path / "c.toml"
    path.write_text("retries = 4\nbackoff_base = 0.5\nmax_body_size = 2048\nignore_robots = true\n"
                    "connect_timeout = 3\ntotal_timeout = 60\nretry_after_cap = 30\nmax_redirects = 2\n")
    config = load(str(path), env={"COPSWATCH_BACKOFF_CAP": "9", "COPSWATCH_RETRIES": "1"})
    policy = fetch_policy(config)
    assert (policy.retry.attempts, policy.retry.backoff_base, policy.retry.backoff_cap,
            policy.retry.retry_after_cap) == (2, 0.5, 9.0, 30.0)
    assert (policy.max_body_size, policy.obey_robots, policy.connect_timeout, policy.total_timeout,
            policy.max_redirects) == (2048, False, 3.0, 60.0, 2)
    defaults = fetch_policy(load(None, env={}))
    assert (defaults.max_body_size, defaults.obey_robots, defaults.retry.attempts) == (10 * 1024 * 1024, True, 3)


@pytest.mark.parametrize("line", ["retries = -1", "max_body_size = 0", "ignore_robots = 'maybe'",
                                  "connect_timeout = 0", "max_redirects = 1.5"])
def test_bad_fetch_settings_are_usage_errors(tmp_path, cli_run, line):
    path = tmp_path / "c.toml"
    path.write_text(line + "\n")
    result = cli_run("run", "--config", path, "--url", "http://127.0.0.1:9/x")
    assert result.exit_code == 2 and line.split()[0] in result.stderr


def test_config_command_shows_the_fetch_settings(cli_run, monkeypatch):
    monkeypatch.setenv("COPSWATCH_MAX_BODY_SIZE", "4096")
    data = cli_run("config", "--json").data
    assert data["max_body_size"] == 4096 and data["ignore_robots"] is False and data["retries"] == 2
    assert {"connect_timeout", "total_timeout", "backoff_base", "backoff_cap", "retry_after_cap",
            "max_redirects"} <= set(data)
