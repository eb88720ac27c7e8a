"""`copswatch alerts list|retry` and `copswatch feed`: the alert outbox and the Atom feed (issue 5).

Channels come from the configuration (the target's ``notify`` or ``$COPSWATCH_NOTIFY``, and
``operator_notify``) plus ``--notify``; their URLs are never printed, only masked.
"""

import sys

import click

from copswatch.cli import ConfigurationError, archive_options, cli, emit_json, json_option, open_archive, safe, settings
from copswatch.errors import CopswatchError


def alert_channels(config, target, extra_urls=(), kinds=None):
    """(publication channels, operator channels) for a target; a bad URL is a usage error."""
    if not (extra_urls or target.notify or config.operator_notify):
        return (), ()  # no channel: apprise and the outbox are not even imported
    from notify.channels import from_config
    from notify.errors import ChannelError

    try:
        return from_config(config, target, extra_urls, kinds)
    except ChannelError as exc:
        raise ConfigurationError(str(exc)) from None


def report_attempts(attempts) -> None:
    """One stderr line per channel that did not accept its message (its deliveries stay pending)."""
    for a in attempts:
        if a.error:
            click.echo(f"Warning: alert to {safe(a.channel)} not delivered ({len(a.delivery_ids)} pending; "
                       f"`copswatch alerts retry` or the next run retries): {safe(a.error)}", err=True)


@cli.group()
def alerts():
    """The alert outbox: every delivery of an event to a channel, sent or pending."""


@alerts.command("list")
@click.option("--pending", is_flag=True, help="Only deliveries not yet accepted by their channel.")
@archive_options
@json_option
def list_deliveries(pending, config_path, db_path, target, as_json):
    """List deliveries, oldest first (all targets unless --target)."""
    from storage import outbox

    config = settings(config_path, db_path)
    with open_archive(config.db) as archive:
        rows = outbox.deliveries(archive, pending_only=pending, target=target)
    if as_json:
        emit_json([d.public() for d in rows])
        return
    for d in rows:
        about = d.event.title if d.event else f"check {d.check_id}"
        line = f"{d.id:>5}  {d.status:<7}  {d.kind:<10}  {d.attempts} attempt(s)  {safe(d.channel)}  {safe(about)}"
        click.echo(line + (f"\n       last error: {safe(d.last_error)}" if d.last_error else ""))
    if not rows:
        click.echo("no pending deliveries" if pending else "no deliveries")


@alerts.command()
@click.option("--notify", "notify_urls", multiple=True, metavar="URL",
              help="Also use this apprise channel (repeatable).")
@archive_options
@json_option
def retry(notify_urls, config_path, db_path, target, as_json):
    """Send pending deliveries now through the configured channels.

    Exit 0 when every attempted delivery was accepted, 1 when some are still pending.
    """
    from notify.deliver import deliver_pending
    from storage import outbox

    from copswatch.config import ConfigError

    config = settings(config_path, db_path)
    try:
        targets = [config.target(target)] if target else list(config.targets.values())
    except ConfigError as exc:
        raise ConfigurationError(str(exc)) from None
    chosen = {}
    for t in targets:
        for group in alert_channels(config, t, notify_urls):
            chosen.update({c.id: c for c in group})
    with open_archive(config.db) as archive:
        attempts = deliver_pending(archive, chosen.values())
        left = outbox.deliveries(archive, pending_only=True)
    sent = sum(len(a.delivery_ids) for a in attempts if a.error is None)
    failed = sum(len(a.delivery_ids) for a in attempts if a.error)
    unconfigured = sum(1 for d in left if d.channel_id not in chosen)
    if as_json:
        emit_json({"sent": sent, "failed": failed, "pending": len(left), "unconfigured": unconfigured})
    else:
        click.echo(f"{sent} delivered, {failed} failed, {len(left)} still pending")
        report_attempts(attempts)
    if unconfigured:
        click.echo(f"Warning: {unconfigured} pending deliveries are for channels not configured here "
                   "(see `copswatch alerts list --pending`)", err=True)
    if failed:
        sys.exit(1)


@cli.command()
@click.option("--output", "-o", type=click.Path(dir_okay=False), default=None,
              help="Write the feed to FILE (replaced atomically) instead of stdout.")
@click.option("--limit", type=click.IntRange(min=1), default=100, show_default=True, help="Newest events to include.")
@archive_options
def feed(output, limit, config_path, db_path, target):
    """Atom feed of publication events (newest first; each target's first check is a baseline, left out)."""
    from copswatch.config import LIVE_URL
    from notify import feed as atom
    from storage import outbox

    config = settings(config_path, db_path)
    link = config.targets[target].url if target in config.targets else (
        next(iter(config.targets.values())).url if len(config.targets) == 1 else LIVE_URL)
    with open_archive(config.db) as archive:
        data = atom.atom(outbox.feed_events(archive, target, limit), link=link, target=target)
    if output:
        try:
            atom.write(output, data)
        except CopswatchError as exc:
            raise click.ClickException(str(exc)) from None
    else:
        click.echo(data.decode("utf-8"), nl=False)
