import pytest

from copswatch.config import ConfigError, load
from tests.conftest import fixture_bytes

GOOD = """
db = "nightly.db"
timeout = 12

[targets.buildingtrust]
url = "https://cops.usdoj.gov/buildingtrust"
schedule = "0 7 * * *"
notify = ["json://127.0.0.1:9/hook"]

[targets.procedural]
url = "https://cops.usdoj.gov/proceduraljustice"
selectors = { listing = "main .views-row" }
"""


def write(tmp_path, text):
    path = tmp_path / "copswatch.toml"
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_file_values_and_environment_precedence(tmp_path):
    path = write(tmp_path, GOOD)
    config = load(path, env={"COPSWATCH_DB": "from-env.db"})
    assert config.db == "from-env.db" and config.timeout == 12
    assert config.targets["buildingtrust"].notify == ("json://127.0.0.1:9/hook",)
    assert config.targets["procedural"].selectors == {"listing": "main .views-row"}
    with pytest.raises(ConfigError, match="several targets"):
        config.target(None)
    assert config.target("procedural").url.endswith("proceduraljustice")


def test_no_file_means_the_live_page(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    config = load(None, env={})
    assert config.target(None).url == "https://cops.usdoj.gov/buildingtrust"
    assert config.db == "archive.db"


@pytest.mark.parametrize(
    "text, words",
    [
        ("colour = 1", "unknown key 'colour'"),
        ("timeout = -3", "timeout must be positive, not -3"),
        ("timeout = 'soon'", "timeout must be a number, not 'soon'"),
        ("[targets.x]\nurl = 'ftp://example.org/'", "targets.x.url must be an http(s) URL"),
        ("[targets.x]\nshedule = '0 7 * * *'", "unknown key targets.x.shedule"),
        ("[targets.x]\nnotify = 3", "targets.x.notify must be a list"),
        ("db = ", "is not valid TOML"),
    ],
)
def test_bad_configuration_names_key_and_value(tmp_path, text, words):
    with pytest.raises(ConfigError) as info:
        load(write(tmp_path, text), env={})
    assert words in str(info.value)


def test_cli_configuration_error_is_one_line_and_exit_2(tmp_path, cli_run):
    result = cli_run("run", "--config", write(tmp_path, "timeout = -3"))
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [result.stderr.strip()]
    assert "timeout must be positive" in result.stderr


def test_run_uses_the_configured_target_url(tmp_path, site, cli_run):
    url = site.serve(fixture_bytes("buildingtrust-older.html"))
    path = write(tmp_path, f'[targets.bt]\nurl = "{url}"\n')
    result = cli_run("run", "--config", path, "--json")
    assert result.exit_code == 0 and result.data["target"] == "bt" and result.data["url"] == url
    assert cli_run("show", "--config", path, "--json").data["target"] == "bt"
    assert cli_run("run", "--config", path, "--target", "nope").exit_code == 2


def test_feed_outside_an_existing_directory_is_a_configuration_error(tmp_path):
    with pytest.raises(ConfigError, match="feed must be a file in an existing directory"):
        load(None, env={"COPSWATCH_FEED": str(tmp_path / "nowhere" / "feed.xml")})


def test_an_archive_from_a_newer_copswatch_is_refused(db_path, cli_run):
    import sqlite3

    from storage.archive import Archive

    Archive(db_path).close()
    with sqlite3.connect(db_path) as conn:
        conn.execute("PRAGMA user_version = 999")
    result = cli_run("show")
    assert result.exit_code == 2 and "newer copswatch" in result.stderr
    with sqlite3.connect(db_path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone() == (999,)


def test_config_shows_alert_settings_with_operator_secrets_masked(tmp_path, cli_run):
    path = write(tmp_path, 'operator_notify = ["mailtos://ops:s3cretpw@mail.example.org"]\nfailure_streak = 5\n'
                           'alert_on = ["added", "removed", "modified"]\n')
    result = cli_run("config", "--config", path, "--json")
    assert result.exit_code == 0 and "s3cretpw" not in result.output
    assert result.data["failure_streak"] == 5 and result.data["alert_on"] == ["added", "removed", "modified"]
    assert result.data["operator_notify"][0].startswith("mailtos://ops:***@")
    assert cli_run("config", "--config", path).exit_code == 0 and "s3cretpw" not in cli_run("config", "--config", path).output


def test_config_text_output_is_valid_toml(tmp_path, cli_run):
    import tomllib

    result = cli_run("config", "--config", write(tmp_path, GOOD))
    assert result.exit_code == 0
    parsed = tomllib.loads(result.output)
    assert parsed["targets"]["procedural"]["selectors"] == {"listing": "main .views-row"}
