"""`status`, `config`, `cron-line`, `run --quiet` and configuration errors, through the CLI."""

import json
import os
import shlex

import pytest

from copswatch.config import cron_trigger
from storage import SCHEMA_VERSION
from tests.conftest import fixture_bytes


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch, tmp_path):
    for name in list(os.environ):
        if name.startswith("COPSWATCH_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)  # no ./copswatch.toml from elsewhere


def write_config(tmp_path, text):
    path = tmp_path / "copswatch.toml"
    path.write_text(text, encoding="utf-8")
    return str(path)


def two_targets(tmp_path, site):
    a = site.serve(fixture_bytes("buildingtrust-older.html"), path="/a")
    b = site.serve(fixture_bytes("buildingtrust-newer.html"), path="/b")
    return write_config(tmp_path, f"""
[targets.alpha]
url = "{a}"
schedule = "30 6 * * 1-5"
timezone = "America/New_York"
notify = ["mailtos://archivist:hunter2@smtp.example.org?to=desk@example.org"]

[targets.beta]
url = "{b}"
""")


def test_status_reports_each_target(tmp_path, site, cli_run):
    config = two_targets(tmp_path, site)
    assert cli_run("run", "--config", config, "--target", "alpha").exit_code == 0
    site.serve(b"gone", path="/a", status=503)
    assert cli_run("run", "--config", config, "--target", "alpha").exit_code == 1
    assert cli_run("run", "--config", config, "--target", "alpha").exit_code == 1

    result = cli_run("status", "--config", config, "--json")
    assert result.exit_code == 0
    data = result.data
    assert data["schema_version"] == SCHEMA_VERSION and data["archive_size_bytes"] > 0
    alpha, beta = data["targets"]
    assert alpha["target"] == "alpha" and alpha["last_outcome"] == "failed" and alpha["last_check_id"] == 3
    assert alpha["last_reason"].startswith("HTTP 503")
    assert alpha["failure_streak"] == 2 and alpha["last_change_version_id"] == 1
    assert alpha["publication_count"] == len(json.loads(fixture_bytes("buildingtrust-older.json"))["publications"])
    assert alpha["pending_alerts"] == 0 and alpha["schedule"] == "30 6 * * 1-5"
    assert alpha["next_run_at"].endswith("+00:00") and alpha["next_run_at"][11:16] == "11:30"  # 06:30 New York, in UTC
    assert beta["last_check_id"] is None and beta["failure_streak"] == 0 and beta["next_run_at"][11:16] == "07:00"

    text = cli_run("status", "--config", config, "--target", "alpha").output
    assert "failure streak  2" in text and "last change     version 1" in text


def test_status_counts_pending_alerts(tmp_path, site, cli_run, db_path):
    url = site.serve(fixture_bytes("buildingtrust-older.html"))
    # Six first-check alerts for a channel that refuses connections: all six stay pending.
    assert cli_run("run", "--url", url, "--alert-on-first", "--notify", "json://127.0.0.1:9/down").exit_code == 0
    assert cli_run("status", "--json").data["targets"][0]["pending_alerts"] == 6


def test_status_of_a_new_installation(cli_run, db_path):
    result = cli_run("status", "--json")
    assert result.exit_code == 0 and not db_path.exists()
    (row,) = result.data["targets"]
    assert row["target"] == "buildingtrust" and row["last_outcome"] is None and result.data["schema_version"] is None


def test_config_prints_the_effective_configuration_with_secrets_masked(tmp_path, site, cli_run, monkeypatch):
    config = two_targets(tmp_path, site)
    monkeypatch.setenv("COPSWATCH_TIMEOUT", "7")
    result = cli_run("config", "--config", config, "--json")
    assert result.exit_code == 0
    data = result.data
    assert data["timeout"] == 7 and data["db"] == os.path.abspath(tmp_path / "archive.db")
    assert data["targets"]["alpha"]["notify"] == ["mailtos://archivist:***@smtp.example.org?to=desk@example.org"]
    text = cli_run("config", "--config", config).output
    assert "hunter2" not in text and "hunter2" not in result.output
    assert 'notify = ["mailtos://archivist:***@smtp.example.org?to=desk@example.org"]' in text
    assert cli_run("config", "--config", config, "--target", "beta", "--json").data["targets"].keys() == {"beta"}


@pytest.mark.parametrize(
    "url, shown",
    [
        ("json://user:s3cret@hooks.example.org/path", "json://user:***@hooks.example.org/path"),
        ("tgram://123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw/12345678", "tgram://***/12345678"),
        ("discord://4174216298/JHMHI8qBe7bk2ZwO5U711o3dV_js", "discord://4174216298/***"),
        ("https://hooks.example.org/in?token=abc&channel=x", "https://hooks.example.org/in?token=***&channel=x"),
        ("mailto://smtp.example.org?to=a@example.org", "mailto://smtp.example.org?to=a@example.org"),
    ],
)
def test_notify_urls_are_masked(url, shown):
    from copswatch.config import mask

    assert mask(url) == shown


def test_cron_line_is_a_ready_crontab_line(tmp_path, site, cli_run, db_path):
    config = two_targets(tmp_path, site)
    result = cli_run("cron-line", "--config", config)
    assert result.exit_code == 0
    entries = result.stdout.splitlines()  # only crontab lines; advice is on stderr
    assert len(entries) == 2
    for entry, name, schedule in zip(entries, ["alpha", "beta"], ["30 6 * * 1-5", "0 7 * * *"]):
        fields = entry.split(None, 5)
        assert " ".join(fields[:5]) == schedule
        cron_trigger(" ".join(fields[:5]), "UTC")  # a valid 5-field expression
        argv = shlex.split(fields[5])
        assert os.path.isabs(argv[0]) and argv[0].endswith("copswatch") and os.access(argv[0], os.X_OK)
        assert argv[1:3] == ["run", "--quiet"]
        assert argv[argv.index("--config") + 1] == os.path.abspath(config)
        assert argv[argv.index("--db") + 1] == os.path.abspath(db_path)
        assert argv[argv.index("--target") + 1] == name
        assert argv[-3:] == [">>", os.path.join(os.path.dirname(os.path.abspath(db_path)), "copswatch.log"), "2>&1"]
    assert "CRON_TZ=America/New_York" in result.stderr  # the time-zone advice for the first target
    assert all(line.startswith("# ") for line in result.stderr.splitlines())


def test_cron_line_escapes_percent_signs(tmp_path, cli_run):
    result = cli_run("cron-line", "--db", tmp_path / "100%.db", db=False)
    (entry,) = result.stdout.splitlines()
    assert "100\\%.db" in entry and "100%.db" not in entry.replace("\\%", "")


def test_run_quiet_prints_only_changes_and_errors(site, cli_run):
    url = site.serve(fixture_bytes("buildingtrust-older.html"))
    first = cli_run("run", "--quiet", "--url", url)
    assert first.exit_code == 0 and "first" in first.output
    again = cli_run("run", "--quiet", "--url", url)
    assert again.exit_code == 0 and again.output == "" and again.stderr == ""
    assert cli_run("run", "--quiet", "--url", url, "--json").output == ""
    site.serve(fixture_bytes("buildingtrust-newer.html"))
    assert "changed" in cli_run("run", "--quiet", "--url", url).output
    site.serve(b"", status=500)
    failed = cli_run("run", "--quiet", "--url", url)
    assert failed.exit_code == 1 and "failed" in failed.stderr


@pytest.mark.parametrize(
    "text, env, words",
    [
        ('[targets.x]\nschedule = "0 7 * *"', {}, "targets.x.schedule '0 7 * *' is not a 5-field cron expression"),
        ('[targets.x]\nschedule = "0 25 * * *"', {}, "targets.x.schedule '0 25 * * *'"),
        ('[targets.x]\nschedule = "@daily"', {}, "targets.x.schedule '@daily'"),
        ('[targets.x]\ntimezone = "Mars/Olympus"', {}, "targets.x.timezone 'Mars/Olympus' is not an IANA time zone"),
        ("jitter = -1", {}, "jitter must be zero or positive, not -1"),
        ("misfire_grace_time = 0", {}, "misfire_grace_time must be positive, not 0"),
        ("", {"COPSWATCH_JITTER": "lots"}, "jitter must be a number, not 'lots'"),
        ("", {"COPSWATCH_SCHEDULE": "every night"}, "targets.buildingtrust.schedule 'every night'"),
        ("", {"COPSWATCH_SELECTORS": "{nope"}, "$COPSWATCH_SELECTORS must be a JSON object, not '{nope'"),
        ('[targets.a]\n[targets.b]', {"COPSWATCH_URL": "https://example.org/"}, "$COPSWATCH_URL is set but"),
    ],
)
@pytest.mark.parametrize("command", ["run", "schedule", "status", "config", "cron-line"])
def test_configuration_errors_are_one_line_and_exit_2(tmp_path, cli_run, monkeypatch, text, env, words, command):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    result = cli_run(command, "--config", write_config(tmp_path, text))
    assert result.exit_code == 2, result.output
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("Error: ")
    assert words in result.stderr
    assert result.stdout == ""


def test_environment_overrides_the_single_target(tmp_path, site, cli_run, monkeypatch):
    url = site.serve(fixture_bytes("buildingtrust-older.html"))
    monkeypatch.setenv("COPSWATCH_URL", url)
    monkeypatch.setenv("COPSWATCH_SCHEDULE", "15 3 * * 0")
    monkeypatch.setenv("COPSWATCH_TIMEZONE", "Europe/Berlin")
    monkeypatch.setenv("COPSWATCH_NOTIFY", "json://127.0.0.1:9/a json://127.0.0.1:9/b")
    monkeypatch.setenv("COPSWATCH_SELECTORS", '{"listing": "main li"}')
    target = cli_run("config", "--json").data["targets"]["buildingtrust"]
    assert target == {"url": url, "schedule": "15 3 * * 0", "timezone": "Europe/Berlin",
                      "notify": ["json://127.0.0.1:9/a", "json://127.0.0.1:9/b"], "selectors": {"listing": "main li"},
                      "alert_on": ["added", "reappeared", "removed"]}
    assert cli_run("run", "--json").data["url"] == url


def test_schedule_options_are_validated(cli_run):
    assert cli_run("schedule", "--jitter", "-5").exit_code == 2
    assert cli_run("schedule", "--misfire-grace-time", "0").exit_code == 2


def test_run_into_a_missing_directory_is_a_configuration_error(tmp_path, cli_run):
    result = cli_run("run", "--db", tmp_path / "nowhere" / "archive.db", "--url", "http://127.0.0.1:9/", db=False)
    assert result.exit_code == 2 and "does not exist" in result.stderr and not (tmp_path / "nowhere").exists()


def test_every_new_command_has_help(cli_run):
    for command in ("schedule", "status", "config", "cron-line"):
        result = cli_run(command, "--help", db=False)
        assert result.exit_code == 0 and "--config" in result.output and "--target" in result.output


def test_an_unusable_lock_file_is_a_configuration_error(tmp_path, cli_run):
    (tmp_path / "archive.db.lock").mkdir()  # something in the way of the lock file
    result = cli_run("run", "--db", tmp_path / "archive.db", "--url", "http://127.0.0.1:9/", db=False)
    assert result.exit_code == 2 and "cannot open the lock file" in result.stderr
    assert not (tmp_path / "archive.db").exists()


def test_schedule_into_a_missing_directory_exits_2_before_running(tmp_path, cli_run):
    result = cli_run("schedule", "--db", tmp_path / "nowhere" / "archive.db", db=False)
    assert result.exit_code == 2 and "does not exist" in result.stderr
