"""Start-up cost: what a `copswatch` process imports (BENCHMARKS.md, check latency).

An unchanged night (same bytes as the last capture, no alert channel, no feed) never parses, never
writes a version and never alerts, so it must not import the modules that do; `--help` must not
import the HTTP stack. Asserted on the real process's sys.modules, not on timings.
"""

import json
import subprocess
import sys

from tests.conftest import fixture_bytes

PAGE = fixture_bytes("buildingtrust-older.html")

# What each would cost an unchanged night, measured with `python -X importtime` (BENCHMARKS.md).
NOT_ON_THE_UNCHANGED_PATH = (
    "scraper.parse", "lxml", "bs4", "cssselect",  # parsing
    "sqlite_utils", "storage.migrations", "difflib",  # writing a version, migrating
    "apprise", "notify.deliver", "notify.channels", "storage.outbox", "feedgen",  # alerts and the feed
    "apscheduler", "zoneinfo", "tomllib",  # schedules and a configuration file
)


def modules_after(tmp_path, *args) -> tuple[subprocess.CompletedProcess, set[str]]:
    """Run the CLI in a fresh interpreter; return the process and every module it had imported."""
    listing = tmp_path / "modules.json"
    code = (
        "import atexit, json, sys\n"
        f"atexit.register(lambda: open({str(listing)!r}, 'w').write(json.dumps(sorted(sys.modules))))\n"
        f"sys.argv = ['copswatch', *{list(args)!r}]\n"
        "from copswatch.cli import main\n"
        "main()\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=tmp_path)
    return proc, set(json.loads(listing.read_text()))


def test_unchanged_night_imports_no_parser_sqlite_utils_or_alerting(site, db_path, tmp_path):
    url = site.serve(PAGE)
    first, imported = modules_after(tmp_path, "run", "--url", url, "--db", str(db_path), "--json")
    assert json.loads(first.stdout)["outcome"] == "first"
    assert {"scraper.parse", "lxml", "sqlite_utils"} <= imported  # the guard below can fail

    proc, imported = modules_after(tmp_path, "run", "--url", url, "--db", str(db_path), "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["outcome"] == "unchanged"
    assert [m for m in NOT_ON_THE_UNCHANGED_PATH if m in imported] == []


def test_help_imports_no_http_stack_or_archive(tmp_path):
    proc, imported = modules_after(tmp_path, "--help")
    assert proc.returncode == 0 and "run" in proc.stdout
    assert [m for m in ("httpx", "httpcore", "ssl", "sqlite3", "storage.archive", *NOT_ON_THE_UNCHANGED_PATH)
            if m in imported] == []
