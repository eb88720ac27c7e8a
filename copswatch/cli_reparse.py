"""`copswatch reparse`: re-derive versions from the stored raw bodies with the current parser.

Fetches nothing and sends or enqueues no alert: it replays every check's stored body through the same
parse → judge → record path as `run` (``Archive.rebuild`` writes derived rows only), in one transaction
per target. Reads the removal threshold and the targets' selectors from the configuration.
"""

import click

from copswatch.cli import archive_options, cli, emit_json, json_option, open_archive, safe, settings


@cli.command()
@archive_options
@json_option
def reparse(config_path, db_path, target, as_json):
    """Re-derive versions from the archived raw bodies with this parser, without fetching.

    Idempotent: a second run changes nothing. Reports, per target, the checks whose outcome changes
    (e.g. an anomaly that is now believable) and the versions whose publications differ from the old
    derivation. Sends no alerts. Exit 0 (also when history changed), 2 for usage errors.
    """
    from schedules.job import assess, parser_version
    from scraper import PARSER_VERSION

    config = settings(config_path, db_path)
    with open_archive(config.db) as archive:
        reports = []
        for name in [target] if target else archive.targets():
            configured = config.targets.get(name)
            selectors = configured.selectors if configured else {}

            parsed: dict = {}

            def replay(response, current):
                page, verdict = assess(response, current, selectors=selectors,
                                       removal_threshold=config.removal_threshold, parsed=parsed)
                return page, verdict, parser_version(selectors)

            reports.append(archive.rebuild(name, replay))
    data = {"parser_version": PARSER_VERSION, "changed": any(r["changed"] for r in reports), "targets": reports}
    if as_json:
        emit_json(data)
        return
    for r in reports:
        state = "history re-derived" if r["changed"] else "no differences"
        click.echo(f"{safe(r['target'])}: {r['checks']} checks, {r['versions_before']} → {r['versions_after']} "
                   f"versions · {state} (parser {PARSER_VERSION})")
        for o in r["outcomes"]:
            click.echo(f"  check {o['check_id']} ({o['started_at']}): {o['before']} → {o['after']}"
                       + (f" · {safe(o['reason_after'])}" if o["reason_after"] else ""))
        for v in r["versions"]:
            click.echo(f"  check {v['check_id']} ({v['started_at']}): "
                       f"version {v['old_version_id']} → {v['version_id']}")
            for label, items in (("+ now listed", v["added"]), ("- no longer listed", v["removed"]),
                                 ("~ now reads", v["modified"])):
                for p in items:
                    click.echo(f"      {label}: {safe(p['title'])}")
