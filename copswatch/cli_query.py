"""Commands that question the archive's history: new, removed, publication, search, export, stats, browse.

Each is one call into ``storage.queries``; people get aligned tables (tabulate, imported lazily so
`copswatch --help` stays fast), scripts get ``--json``. List commands cover every target unless
``--target``; `publication` looks in one target (the only one, or ``--target``).
"""

import csv
import json
import os
import sys

import click

from copswatch.cli import (ConfigurationError, archive_options, cli, emit_json, fail, json_option, known_target,
                           open_archive, pick_target, safe, settings)
from copswatch.errors import CopswatchError
from copswatch.moments import Moment


def table(rows: list[dict], columns: list[str]) -> None:
    from tabulate import tabulate

    if not rows:
        click.echo("(none)")
        return
    cells = [[safe(row[c]) if row[c] is not None else "" for c in columns] for row in rows]
    click.echo(tabulate(cells, headers=columns, tablefmt="simple", disable_numparse=True))


def clip(text: str | None, width: int = 60) -> str | None:
    return text if text is None or len(text) <= width else text[: width - 1] + "…"


@cli.command("new")
@click.option("--since", type=Moment(), default=None, help="From this ISO 8601 date or datetime [default: all time].")
@archive_options
@json_option
def new_publications(since, config_path, db_path, target, as_json):
    """Publications first seen since a moment, with the version and time they appeared."""
    from storage.queries import new_since

    config = settings(config_path, db_path)
    with open_archive(config.db) as archive:
        rows = new_since(archive, known_target(archive, target), since)
    if as_json:
        emit_json(rows)
        return
    table([{**r, "title": clip(r["title"])} for r in rows], ["first_seen_at", "version_id", "key", "title"])


@cli.command()
@click.option("--since", type=Moment(), default=None, help="From this ISO 8601 date or datetime [default: all time].")
@archive_options
@json_option
def removed(since, config_path, db_path, target, as_json):
    """Publications no longer listed whose removal was captured since a moment.

    Shows when each was last seen and the version in which it vanished.
    """
    from storage.queries import removed_since

    config = settings(config_path, db_path)
    with open_archive(config.db) as archive:
        rows = removed_since(archive, known_target(archive, target), since)
    if as_json:
        emit_json(rows)
        return
    table([{**r, "title": clip(r["title"])} for r in rows],
          ["removed_at", "removed_version_id", "last_seen_at", "key", "title"])


@cli.command()
@click.argument("key_or_url")
@archive_options
@json_option
def publication(key_or_url, config_path, db_path, target, as_json):
    """One publication's timeline, by KEY (e.g. cops-p247) or any URL it was listed at."""
    from storage.queries import find_publication, publication_timeline

    config = settings(config_path, db_path)
    with open_archive(config.db) as archive:
        name = pick_target(config, archive, target)
        found = find_publication(archive, name, key=key_or_url, url=key_or_url)
        if found is None and "://" in key_or_url:
            from scraper.parse import publication_key  # the parser's key rules, only when a URL needs them

            found = find_publication(archive, name, key=publication_key(key_or_url))
        if found is None:
            fail(CopswatchError(f"no publication {key_or_url!r} in {name!r}"))
        data = publication_timeline(archive, found)
    if as_json:
        emit_json(data)
        return
    status = "listed now" if data["listed"] else f"removed in version {data['removed_version_id']} ({data['removed_at']})"
    click.echo(f"{safe(data['key'])} · {safe(data['title'])}\n{safe(data['url'])}")
    click.echo(f"first seen {data['first_seen_at']} (version {data['first_version_id']}) · "
               f"last seen {data['last_seen_at']} (version {data['last_version_id']}) · {status}\n")
    rows = []
    for e in data["events"]:
        detail = "; ".join(f"{f}: {clip(c['before'], 40)!r} → {clip(c['after'], 40)!r}" for f, c in e["changes"].items())
        rows.append({"at": e["at"], "version": e["version_id"], "event": e["kind"], "detail": detail or clip(e["title"])})
    table(rows, ["at", "version", "event", "detail"])


@cli.command()
@click.argument("text")
@archive_options
@json_option
def search(text, config_path, db_path, target, as_json):
    """Full-text search over every title and description ever archived (all words must match)."""
    from storage.queries import search as query_search

    config = settings(config_path, db_path)
    with open_archive(config.db) as archive:
        rows = query_search(archive, text, known_target(archive, target))
    if as_json:
        emit_json(rows)
        return
    table([{**r, "title": clip(r["title"]), "versions": compact(r["versions"])} for r in rows],
          ["key", "title", "first_seen_at", "versions"])


def compact(ids: list[int]) -> str:
    """[1, 2, 3, 7] → '1-3, 7'."""
    runs: list[list[int]] = []
    for i in ids:
        if runs and i == runs[-1][1] + 1:
            runs[-1][1] = i
        else:
            runs.append([i, i])
    return ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in runs)


@cli.command()
@click.option("--format", "fmt", type=click.Choice(["json", "ndjson", "csv"]), default=None,
              help="Output format [default: json].")
@click.option("--output", default=None, help="Write to this file instead of standard output.")
@archive_options
@click.option("--json", "as_json", is_flag=True, help="Same as --format json.")
def export(fmt, output, config_path, db_path, target, as_json):
    """Every publication ever seen: current state, first and last seen (fields in the README)."""
    from storage.queries import EXPORT_FIELDS
    from storage.queries import export as rows

    if as_json and fmt not in (None, "json"):
        raise click.UsageError("--json and --format csv/ndjson contradict each other")
    fmt = fmt or "json"
    if output and (os.path.isdir(output) or not os.path.isdir(os.path.dirname(os.path.abspath(output)))):
        raise ConfigurationError(f"--output {output} must be a file in an existing directory")
    config = settings(config_path, db_path)
    with open_archive(config.db) as archive, \
            (open(output, "w", encoding="utf-8", newline="") if output else _stdout()) as out:
        target = known_target(archive, target)
        if fmt == "csv":
            writer = csv.DictWriter(out, fieldnames=EXPORT_FIELDS)
            writer.writeheader()
            writer.writerows(rows(archive, target))
        elif fmt == "ndjson":
            for row in rows(archive, target):
                out.write(json.dumps(row, ensure_ascii=False) + "\n")
        else:
            out.write("[")
            for i, row in enumerate(rows(archive, target)):
                out.write(("," if i else "") + "\n  " + json.dumps(row, ensure_ascii=False))
            out.write("\n]\n")


class _stdout:
    """Standard output as a context manager that is not closed afterwards."""

    def __enter__(self):
        return sys.stdout

    def __exit__(self, *exc):
        sys.stdout.flush()


@cli.command()
@archive_options
@json_option
def stats(config_path, db_path, target, as_json):
    """Counts, time span, archive size and how often the page changes."""
    from storage.queries import stats as query_stats

    config = settings(config_path, db_path)
    with open_archive(config.db) as archive:
        data = query_stats(archive, known_target(archive, target))
    if as_json:
        emit_json(data)
        return
    rows = []
    for name, value in data.items():
        if isinstance(value, dict):
            value = ", ".join(f"{k} {v}" for k, v in value.items()) or "-"
        rows.append({"statistic": name, "value": "-" if value is None else value})
    table(rows, ["statistic", "value"])


@cli.command()
@click.option("--port", type=int, default=8001, show_default=True)
@click.option("--open/--no-open", "open_browser", default=True, help="Open a browser window.")
@archive_options
def browse(port, open_browser, config_path, db_path, target):
    """Open the archive in Datasette (read-only), with canned queries (needs `pip install copswatch[browse]`)."""
    import tempfile
    from pathlib import Path

    from copswatch.cli import ConfigurationError

    try:
        from datasette.cli import cli as datasette
    except ImportError:
        raise ConfigurationError("Datasette is not installed: pip install 'copswatch[browse]'") from None
    config = settings(config_path, db_path)
    open_archive(config.db).close()  # a clear error for a missing or foreign file, and the schema is current
    with tempfile.TemporaryDirectory() as tmp:
        metadata = Path(tmp) / "metadata.json"
        metadata.write_text(json.dumps(datasette_metadata(Path(config.db).stem)), encoding="utf-8")
        argv = ["serve", config.db, "--metadata", str(metadata), "--port", str(port)]
        datasette.main(argv + (["--open"] if open_browser else []), prog_name="datasette")


def datasette_metadata(database: str) -> dict:
    """The shipped metadata (titles, descriptions, canned queries), for a database of this name."""
    from importlib.resources import files

    metadata = json.loads((files("copswatch") / "datasette" / "metadata.json").read_text(encoding="utf-8"))
    metadata["databases"] = {database: metadata["databases"]["archive"]}
    return metadata
