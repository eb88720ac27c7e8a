"""Commands for running unattended: `schedule` (the daemon), `cron-line`, `status` and `config`."""

import os
import shlex
import sys
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import click

from copswatch.cli import ConfigurationError, archive_options, cli, emit_json, json_option, open_archive, safe, settings
from copswatch.errors import CopswatchError


def chosen_targets(config, name: str | None) -> list:
    """--target NAME, else every configured target."""
    from copswatch.config import ConfigError

    try:
        return [config.target(name)] if name else list(config.targets.values())
    except ConfigError as exc:
        raise ConfigurationError(str(exc)) from None


@cli.command()
@archive_options
@click.option("--jitter", type=click.FloatRange(min=0), default=None,
              help="Random delay of up to this many seconds per run [config jitter; env COPSWATCH_JITTER; default 0].")
@click.option("--misfire-grace-time", type=click.FloatRange(min=0, min_open=True), default=None,
              help="Seconds a missed run may still start late [config misfire_grace_time; "
                   "env COPSWATCH_MISFIRE_GRACE_TIME; default 3600].")
@click.option("--stop-grace", type=click.FloatRange(min=0), default=10.0, show_default=True,
              help="On SIGTERM/SIGINT, seconds a run in progress may take to finish before it is abandoned "
                   "(uncommitted). Keep it below systemd's TimeoutStopSec.")
def schedule(config_path, db_path, target, jitter, misfire_grace_time, stop_grace):
    """Check every target (or --target) on its cron schedule until SIGTERM or SIGINT.

    On start, a target that missed a scheduled run is checked at once. Logs one line per run on
    stderr. Runs never overlap each other or a `copswatch run` on the same archive.
    """
    from schedules.daemon import Daemon
    from schedules.lock import ArchiveBusy, archive_lock, lock_path

    config = settings(config_path, db_path)
    if jitter is not None:
        config = replace(config, jitter=jitter)
    if misfire_grace_time is not None:
        config = replace(config, misfire_grace_time=misfire_grace_time)
    targets = chosen_targets(config, target)
    try:  # create or upgrade the archive now, so a bad path is an error at start, not at 3 a.m.
        with archive_lock(config.db):
            open_archive(config.db, create=True).close()
    except ArchiveBusy:
        pass  # a check elsewhere has it open: it is usable
    except FileNotFoundError:
        raise ConfigurationError(f"{config.db}: directory {os.path.dirname(os.path.abspath(config.db))} does not exist") from None
    except OSError as exc:
        raise ConfigurationError(f"cannot open the lock file {lock_path(config.db)}: {exc.strerror}") from None
    try:
        Daemon(config, targets).serve(grace=stop_grace)
    except CopswatchError as exc:  # the archive could not be read at start
        raise ConfigurationError(str(exc)) from None


def executable() -> str:
    """The absolute path of the copswatch command of this installation."""
    beside = Path(sys.executable).parent / "copswatch"
    if beside.is_file():
        return str(beside)
    import shutil  # it imports bz2 and lzma: ~5 ms off every other command's start-up

    found = shutil.which("copswatch")
    return os.path.abspath(found) if found else f"{sys.executable} -m copswatch"


@cli.command("cron-line")
@archive_options
def cron_line(config_path, db_path, target):
    """Print crontab lines (one per target) that run `copswatch run --quiet` on each schedule.

    Add them with `crontab -e`. Output is appended to copswatch.log next to the archive; remove the
    redirection to have cron mail you the changes and errors instead (unchanged nights print nothing).
    Advice (time zones, installing) goes to stderr as `#` comments; stdout holds only crontab lines.
    """
    config = settings(config_path, db_path)
    db = os.path.abspath(config.db)
    log = os.path.join(os.path.dirname(db), "copswatch.log")
    command = executable().split(" ")
    advice = []
    for t in chosen_targets(config, target):
        argv = [*command, "run", "--quiet"]
        if config.source:
            argv += ["--config", os.path.abspath(config.source)]
        argv += ["--db", db, "--target", t.name]
        line = " ".join(shlex.quote(a) for a in argv) + f" >> {shlex.quote(log)} 2>&1"
        click.echo(f"{t.schedule} {line.replace('%', chr(92) + '%')}")  # cron turns a bare % into a newline
        if t.timezone != "UTC":
            advice.append(f"# target {t.name}: its schedule is in {t.timezone}; cron reads it in the system's time "
                          f"zone (put CRON_TZ={t.timezone} above the line where cron supports it)")
    # Advice goes to stderr, so that `copswatch cron-line >> crontab-file` writes only crontab lines.
    for text in [*advice, f"# install with `crontab -e`; output is appended to {log} (remove `>> … 2>&1` to "
                           "have cron mail you changes and errors; unchanged nights print nothing)"]:
        click.echo(text, err=True)


@cli.command()
@archive_options
@json_option
def status(config_path, db_path, target, as_json):
    """Per target: last check and outcome, last change, publications, failure streak, pending alerts,
    next scheduled run; and the archive's size and schema version."""
    from copswatch.config import ConfigError, cron_trigger
    from storage.status import schema_version, target_status

    config = settings(config_path, db_path)
    now = datetime.now(UTC)
    exists = os.path.exists(config.db)
    archive = open_archive(config.db) if exists else None
    try:
        names = [target] if target else list(dict.fromkeys([*config.targets, *(archive.targets() if archive else [])]))
        rows = []
        for name in names:
            try:
                t = config.target(name)
            except ConfigError as exc:
                if name not in (archive.targets() if archive else []):
                    raise ConfigurationError(str(exc)) from None
                t = None  # archived, no longer configured: not scheduled
            next_run = cron_trigger(t.schedule, t.timezone).get_next_fire_time(None, now) if t else None
            rows.append({
                "target": name,
                "url": t.url if t else None,
                "schedule": t.schedule if t else None,
                "timezone": t.timezone if t else None,
                "next_run_at": next_run.astimezone(UTC).isoformat() if next_run else None,
                **(target_status(archive, name) if archive else target_status_empty()),
            })
        data = {
            "db": os.path.abspath(config.db),
            "archive_size_bytes": sum(os.path.getsize(p) for p in (config.db, config.db + "-wal") if os.path.exists(p)),
            "schema_version": schema_version(archive) if archive else None,
            "targets": rows,
        }
    finally:
        if archive:
            archive.close()
    if as_json:
        emit_json(data)
        return
    click.echo(f"archive {data['db']} · {data['archive_size_bytes']:,} bytes · schema version {data['schema_version']}")
    for r in rows:
        click.echo(f"\n{r['target']}  {safe(r['url'] or '(not configured)')}")
        last = (f"{r['last_check_at']} {r['last_outcome']} (check {r['last_check_id']})"
                + (f": {safe(r['last_reason'])}" if r["last_reason"] else "")) if r["last_check_id"] else "never"
        change = (f"version {r['last_change_version_id']} at {r['last_change_at']} ({safe(r['last_change_summary'])})"
                  if r["last_change_version_id"] else "none")
        click.echo(f"  last check      {last}")
        click.echo(f"  last change     {change}")
        click.echo(f"  publications    {r['publication_count'] if r['publication_count'] is not None else '-'}")
        click.echo(f"  failure streak  {r['failure_streak']}")
        click.echo(f"  pending alerts  {r['pending_alerts']}")
        click.echo(f"  next run        {r['next_run_at'] or '-'}"
                   + (f"  ({r['schedule']}, {r['timezone']})" if r["schedule"] else ""))


def target_status_empty() -> dict:
    return {"last_check_id": None, "last_check_at": None, "last_outcome": None, "last_reason": None,
            "last_success_at": None, "last_change_version_id": None, "last_change_at": None,
            "last_change_summary": None, "publication_count": None, "failure_streak": 0, "pending_alerts": 0}


@cli.command("config")
@archive_options
@json_option
def config_command(config_path, db_path, target, as_json):
    """Print the effective configuration (file, environment and options merged), secrets masked."""
    from copswatch.config import public

    config = settings(config_path, db_path)
    data = public(config, [t.name for t in chosen_targets(config, target)])
    if as_json:
        emit_json(data)
        return
    click.echo(f"# effective configuration; from {data.pop('source') or 'defaults and the environment'}")
    targets = data.pop("targets")
    for key, value in data.items():
        click.echo(f"# {key}: not set" if value is None else f"{key} = {toml_value(value)}")  # TOML has no null
    for name, values in targets.items():
        click.echo(f"\n[targets.{toml_key(name)}]")
        for key, value in values.items():
            click.echo(f"{key} = {toml_value(value)}")


def toml_key(key: str) -> str:
    return key if key.replace("-", "").replace("_", "").isalnum() and key.isascii() else toml_value(key)


def toml_value(value) -> str:
    import json

    if isinstance(value, dict):
        return "{ " + ", ".join(f"{toml_key(k)} = {toml_value(v)}" for k, v in value.items()) + " }"
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return json.dumps(value, ensure_ascii=False)
