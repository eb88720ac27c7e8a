"""`copswatch doctor` and `copswatch backup`: the archive's health and consistent copies of it."""

import sys

import click

from copswatch.cli import ConfigurationError, archive_options, cli, emit_json, json_option, safe, settings


@cli.command()
@archive_options
@json_option
def doctor(config_path, db_path, target, as_json):
    """Check the archive's health and say how to fix what is wrong (read-only).

    Checks integrity, schema version, dangling references, versions without listing rows, orphaned
    bodies and bodies whose SHA-256 no longer matches. Exit 0 healthy, 1 problems found, 2 no usable
    archive.
    """
    from storage.errors import ArchiveError
    from storage.maintenance import doctor as examine

    config = settings(config_path, db_path)
    try:
        report = examine(config.db)
    except ArchiveError as exc:
        raise ConfigurationError(str(exc)) from None
    if as_json:
        emit_json(report.public())
    else:
        failed = {p.check for p in report.problems}
        for check in report.checked:
            click.echo(f"{'PROBLEM' if check in failed else 'ok':<8} {check}")
        for p in report.problems:
            click.echo(f"\n{p.check}: {safe(p.detail)}\n  fix: {safe(p.fix)}")
        click.echo(f"\n{safe(report.path)}: " + ("healthy" if report.healthy else f"{len(report.problems)} problem(s)"))
    if not report.healthy:
        sys.exit(1)


@cli.command()
@click.argument("path", type=click.Path(dir_okay=True))
@click.option("--force", is_flag=True, help="Replace PATH if it already exists.")
@archive_options
@json_option
def backup(path, force, config_path, db_path, target, as_json):
    """Copy the archive to PATH, consistently, even while it is in use.

    Uses SQLite's online backup API; the copy is checked before it replaces anything. An existing
    PATH is refused unless --force. Exit 0 done, 1 the copy failed, 2 unusable archive or PATH.
    """
    from storage.errors import ArchiveError
    from storage.maintenance import backup as copy, check_backup_path, connect_read_only

    config = settings(config_path, db_path)
    try:
        check_backup_path(config.db, path, force=force)
        connect_read_only(config.db).close()
    except ArchiveError as exc:
        raise ConfigurationError(str(exc)) from None
    try:
        done = copy(config.db, path, force=force)
    except ArchiveError as exc:
        raise click.ClickException(str(exc)) from None
    if as_json:
        emit_json(done)
    else:
        click.echo(f"backed up {safe(done['source'])} → {safe(done['path'])}: {done['bytes']} bytes, "
                   f"{done['versions']} versions, {done['checks']} checks (schema {done['schema_version']})")
