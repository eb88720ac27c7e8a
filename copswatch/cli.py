"""The `copswatch` command: one click group, each command a thin call into the library.

Exit codes: 0 success; 1 the check failed or was an anomaly (still recorded) or a requested record
does not exist; 2 usage or configuration error (bad option, unusable archive path); 75 (EX_TEMPFAIL)
`run` found the archive locked by another check and wrote nothing.
Heavy modules (httpx, lxml, bs4) are imported inside the commands that need them.
"""

import json
import os
import re
import sys
from contextlib import ExitStack, contextmanager
from datetime import datetime

import click

from copswatch import __version__
from copswatch.errors import CopswatchError
from copswatch.moments import Moment, VersionOrMoment

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


class ConfigurationError(click.ClickException):
    exit_code = 2


def safe(text) -> str:
    """Scraped text on a terminal: control characters (escape sequences) are made visible, not run."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", str(text))


def emit_json(data) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))


def archive_options(fn):
    """--config, --db and --target, shared by every command that uses an archive."""
    fn = click.option("--target", default=None,
                      help="Target name (default: the only one configured or archived).")(fn)
    fn = click.option("--db", "db_path", default=None,
                      help="Archive file [default: archive.db; env COPSWATCH_DB].")(fn)
    fn = click.option("--config", "config_path", default=None,
                      help="TOML configuration [env COPSWATCH_CONFIG; default ./copswatch.toml if present].")(fn)
    return fn


def settings(config_path: str | None, db_path: str | None):
    from dataclasses import replace

    from copswatch.config import ConfigError, load

    try:
        config = load(config_path)
    except ConfigError as exc:
        raise ConfigurationError(str(exc)) from None
    return replace(config, db=db_path) if db_path else config


def known_target(archive, name: str | None) -> str | None:
    """--target for commands that cover every target without it: an archived target, or None."""
    if name is not None and name not in archive.targets():
        archived = ", ".join(archive.targets()) or "none yet"
        raise click.ClickException(f"no target {name!r} in {archive.path} (archived: {archived})")
    return name


def pick_target(config, archive, name: str | None) -> str:
    """--target, else the archive's only target, else the only configured one."""
    from copswatch.config import ConfigError

    if name:
        return name
    archived = archive.targets()
    if len(archived) == 1:
        return archived[0]
    try:
        return config.target(None).name
    except ConfigError as exc:
        raise ConfigurationError(str(exc)) from None


def json_option(fn):
    return click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")(fn)


def open_archive(path: str, *, create: bool = False):
    from storage.archive import Archive
    from storage.errors import ArchiveError

    try:
        return Archive(path, create=create)
    except ArchiveError as exc:
        raise ConfigurationError(str(exc)) from None


def fail(exc: CopswatchError):
    raise click.ClickException(str(exc))


class Group(click.Group):
    """Turns a damaged archive, found in the middle of any command, into one error line."""

    def invoke(self, ctx):
        import sqlite3

        try:
            return super().invoke(ctx)
        except sqlite3.DatabaseError as exc:
            raise click.ClickException(
                f"the archive could not be read ({exc}); `copswatch doctor` says what is wrong") from None


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="copswatch")
def cli():
    """Watch and archive the DOJ COPS Office "Building Trust" page.

    Every check is recorded; a new version is stored only when the page's content changes.
    Start with `copswatch demo` for an offline tour.
    """


EXIT_BUSY = 75  # EX_TEMPFAIL (sysexits.h): another check holds the archive; try again later


@cli.command()
@click.option("--url", default=None, help="Page to check [default: the target's URL, else the live page].")
@click.option("--quiet", "-q", is_flag=True, help="Print nothing when nothing changed (for cron); changes and errors still print.")
@click.option("--notify", "notify_urls", multiple=True, metavar="URL",
              help="Also alert this apprise channel (repeatable) [env COPSWATCH_NOTIFY].")
@click.option("--alert-on", "alert_on", multiple=True, metavar="KIND",
              type=click.Choice(["added", "reappeared", "removed", "modified", "moved"]),
              help="Event kinds that alert (repeatable) [default: added, reappeared, removed].")
@click.option("--alert-on-first", is_flag=True, help="Alert on the first check of a target too (normally a baseline).")
@click.option("--removal-threshold", type=float, default=None,
              help="Share (0-1] of the current publications that may vanish at once before the check is "
                   "an anomaly [default 0.5; env COPSWATCH_REMOVAL_THRESHOLD].")
@archive_options
@json_option
def run(url, quiet, notify_urls, alert_on, alert_on_first, removal_threshold, config_path, db_path, target, as_json):
    """Check the page once, archive it, report what changed and send pending alerts.

    Exit 0 when the check succeeded (changed or not), 1 when the fetch failed or the page was an
    anomaly (not believable; recorded, the current version untouched), 2 for usage or configuration
    errors, 75 when another check holds the archive's lock (nothing is written; safe to retry). An
    alert a channel did not accept is a warning on stderr and stays pending; it does not change the
    exit code.
    """
    from copswatch.cli_alerts import alert_channels, report_attempts
    from copswatch.config import ConfigError, check_page_url
    from copswatch.config import removal_threshold as share
    from schedules.job import check_and_notify, client_for, fetch_policy

    config = settings(config_path, db_path)
    try:
        chosen = config.target(target)
        if url:
            check_page_url(url, "--url")
        threshold = config.removal_threshold if removal_threshold is None else \
            share(removal_threshold, "--removal-threshold")
    except ConfigError as exc:
        raise ConfigurationError(str(exc)) from None
    channels, operator_channels = alert_channels(config, chosen, notify_urls, alert_on)
    policy = fetch_policy(config)
    with locked(config.db), open_archive(config.db, create=True) as archive, client_for(policy) as client:
        try:
            result, attempts = check_and_notify(
                archive, client, chosen.name, url or chosen.url, channels=channels,
                operator_channels=operator_channels, alert_on_first=alert_on_first,
                failure_streak=config.failure_streak, feed=config.feed, policy=policy,
                selectors=chosen.selectors, removal_threshold=threshold,
            )
        except CopswatchError as exc:  # the feed could not be written; check and alerts are done
            fail(exc)
    report_attempts(attempts)
    if quiet and result.outcome == "unchanged":
        return
    if as_json:
        emit_json(result.public())
    else:
        print_check(result)
    if result.outcome in ("failed", "anomaly"):
        sys.exit(1)


@contextmanager
def locked(db: str):
    """The archive's exclusive lock (schedules/lock.py) for a whole check; busy → exit 75 at once."""
    from schedules.lock import ArchiveBusy, archive_lock, lock_path

    with ExitStack() as stack:
        try:
            stack.enter_context(archive_lock(db))
        except ArchiveBusy as exc:
            click.echo(f"Error: {exc}", err=True)
            sys.exit(EXIT_BUSY)
        except FileNotFoundError:
            raise ConfigurationError(f"{db}: directory {os.path.dirname(lock_path(db))} does not exist") from None
        except OSError as exc:
            raise ConfigurationError(f"cannot open the lock file {lock_path(db)}: {exc.strerror}") from None
        yield


def print_check(result) -> None:
    head = f"check {result.check_id} · {result.outcome}"
    if result.outcome in ("failed", "anomaly"):
        kept = " · not believable: the current version is unchanged" if result.outcome == "anomaly" else ""
        click.echo(f"{head} · {safe(result.reason)}{kept} · {safe(result.url)}", err=True)
        return
    click.echo(f"{head} · version {result.version_id} · {safe(result.url)}")
    if result.outcome in ("first", "changed"):
        print_changes(result.changes)


def print_changes(changes) -> None:
    for label, items in (("+ added", changes.added), ("+ reappeared", changes.reappeared),
                         ("- removed", changes.removed)):
        for p in items:
            click.echo(f"  {label}: {safe(p.title)}\n      {safe(p.url)}")
    for m in changes.modified:
        click.echo(f"  ~ modified: {safe(m.after.title)}")
        for f in m.fields:
            click.echo(f"      {f}: {safe(getattr(m.before, f))!r} → {safe(getattr(m.after, f))!r}")
    if changes.reordered:
        click.echo(f"  ↕ order changed for {len(changes.reordered)} publications (not a publication change)")
    if not changes.publication_changes and not changes.reordered:
        click.echo(f"  {changes.summary()}")


@cli.command()
@click.argument("version", type=int, required=False)
@click.option("--at", "at", type=Moment(end_of_day=True), default=None,
              help="Show the version current at this ISO 8601 date or datetime (naive = UTC).")
@archive_options
@json_option
def show(version, at, config_path, db_path, target, as_json):
    """Show the page as archived: VERSION, the version current --at a moment, or the latest."""
    if version is not None and at is not None:
        raise click.UsageError("give VERSION or --at, not both")
    config = settings(config_path, db_path)
    with open_archive(config.db) as archive:
        try:
            name = pick_target(config, archive, target)
            if at is not None:
                from storage.queries import version_at

                version = version_at(archive, name, at)["id"]
            page = archive.show(version, name)
        except CopswatchError as exc:
            fail(exc)
    if as_json:
        emit_json(page)
        return
    click.echo(f"version {page['version_id']} · captured {page['captured_at']} · {safe(page['url'])}")
    click.echo(f"{safe(page['heading'] or page['title'])}\n")
    for r in page["resources"]:
        click.echo(f"{r['position']:>3}. {safe(r['title'])}\n     {safe(r['url'])}\n     {safe(r['description'])}")
    if page["spotlight"]:
        click.echo("\nSpotlight:")
        for s in page["spotlight"]:
            click.echo(f"   - {safe(s['title'] or '(no text)')}: {safe(s['url'])}")


@cli.command()
@click.option("--since", type=Moment(), default=None, help="Only checks and versions from this moment on.")
@click.option("--until", type=Moment(end_of_day=True), default=None, help="Only checks and versions up to this moment.")
@click.option("--changes-only", is_flag=True, help="Only the checks that created a version.")
@archive_options
@json_option
def history(since, until, changes_only, config_path, db_path, target, as_json):
    """List checks and versions, newest first (all targets unless --target)."""
    config = settings(config_path, db_path)
    with open_archive(config.db) as archive:
        data = archive.history(known_target(archive, target), since=since, until=until, changes_only=changes_only)
    if as_json:
        emit_json(data)
        return
    click.echo("versions:")
    for v in data["versions"]:
        click.echo(f"  {v['version_id']:>5}  {v['captured_at']}  {v['publication_count']:>3} publications  {safe(v['summary'])}")
    click.echo("checks:")
    for c in data["checks"]:
        detail = safe(c["reason"]) if c["reason"] else f"version {c['version_id']}"
        if c["summary"]:
            detail += f"  {safe(c['summary'])}"
        click.echo(f"  {c['check_id']:>5}  {c['started_at']}  {c['outcome']:<9}  {c['http_status'] or '-':>3}  {detail}")


@cli.command()
@click.argument("old", type=VersionOrMoment(end_of_day=True), required=False)
@click.argument("new", type=VersionOrMoment(end_of_day=True), required=False)
@archive_options
@json_option
def diff(old, new, config_path, db_path, target, as_json):
    """Publication-level diff between OLD and NEW (default: the last two versions).

    Each is a version id or an ISO 8601 date/datetime, which stands for the version current then.
    """
    config = settings(config_path, db_path)
    with open_archive(config.db) as archive:
        try:
            name = pick_target(config, archive, target)
            if isinstance(old, datetime) or isinstance(new, datetime):
                from storage.queries import version_at

                old, new = (version_at(archive, name, v)["id"] if isinstance(v, datetime) else v for v in (old, new))
            before, after, changes = archive.diff_versions(old, new, name)
        except CopswatchError as exc:
            fail(exc)
    if as_json:
        emit_json({"old_version_id": before["id"], "new_version_id": after["id"], **changes.public()})
        return
    click.echo(f"version {before['id']} ({before['captured_at']}) → version {after['id']} ({after['captured_at']})")
    print_changes(changes)
    if changes.text_diff:
        click.echo("\n" + safe(changes.text_diff))


@cli.command()
@click.option("--db", "db_path", default="demo.db", show_default=True,
              help="Where to leave the demo archive (an earlier demo archive there is replaced).")
def demo(db_path):
    """Replay several nights of the page offline, through the real `run` code path."""
    from copswatch.demo import run_demo

    try:
        run_demo(db_path, click.echo)
    except CopswatchError as exc:
        raise ConfigurationError(str(exc)) from None


def main():
    cli()


from copswatch import cli_query  # noqa: E402,F401  (registers its commands)
from copswatch import cli_schedule  # noqa: E402,F401  (registers its commands)
from copswatch import cli_alerts  # noqa: E402,F401  (registers its commands)
from copswatch import cli_maintenance  # noqa: E402,F401  (registers its commands)
from copswatch import cli_reparse  # noqa: E402,F401  (registers its commands)
