"""Query latency on a synthetic decade (issue 4): every history question, in-process and as a CLI command.

Builds the archive with ``bench.synth`` (3,650 nights, ~150 versions, ~400 publications) unless it
exists, then for each question prints the median in-process time of the library call (after one
warm-up, on an already open archive) and the median wall time of the whole `copswatch …` command
in a fresh process (start-up, opening the archive and printing included). Targets: < 50 ms and
< 300 ms.

    python -m bench.queries [PATH] [--runs N] [--cli-runs N]
"""

import argparse
import os
import statistics
import subprocess
import sys
import time
from datetime import datetime, timedelta

from bench.synth import TARGET, build_archive
from storage import queries
from storage.archive import Archive


def cases(archive: Archive) -> list[tuple[str, list[str], object]]:
    """(name, CLI arguments, in-process call) for every question, with arguments taken from the archive."""
    conn = archive.conn
    first, last = (datetime.fromisoformat(v) for v in conn.execute(
        "SELECT MIN(captured_at), MAX(captured_at) FROM versions").fetchone())
    middle = first + (last - first) / 2
    year_ago = last - timedelta(days=365)
    # The publication with the longest timeline, and a URL it was once listed at (not its key).
    key, publication_id = conn.execute(
        "SELECT p.key, p.id FROM events e JOIN publications p ON p.id = e.publication_id "
        "GROUP BY p.id ORDER BY COUNT(*) DESC, p.id LIMIT 1").fetchone()
    url = conn.execute("SELECT url FROM publication_revisions WHERE publication_id = ? ORDER BY id LIMIT 1",
                       [publication_id]).fetchone()[0]
    variant = url.upper().replace("HTTPS://", "https://") + ("&" if "?" in url else "?") + "utm_source=bench"
    mid, ago, start = middle.isoformat(), year_ago.date().isoformat(), first.date().isoformat()

    def timeline(**by):
        return queries.publication_timeline(archive, queries.find_publication(archive, TARGET, **by))

    def by_url(u):
        from scraper.parse import publication_key

        found = queries.find_publication(archive, TARGET, key=u, url=u)
        return found or queries.find_publication(archive, TARGET, key=publication_key(u))

    return [
        ("show --at", ["show", "--at", mid],
         lambda: archive.show(queries.version_at(archive, TARGET, middle)["id"], TARGET)),
        ("history --since (1 year)", ["history", "--since", ago],
         lambda: queries.history(archive, since=year_ago)),
        ("history (all 3,650 checks)", ["history"], lambda: queries.history(archive)),
        ("history --changes-only", ["history", "--changes-only"], lambda: queries.history(archive, changes_only=True)),
        ("diff DATE DATE", ["diff", start, mid],
         lambda: archive.diff_versions(queries.version_at(archive, TARGET, first)["id"],
                                       queries.version_at(archive, TARGET, middle)["id"], TARGET)),
        ("new --since (1 year)", ["new", "--since", ago], lambda: queries.new_since(archive, None, year_ago)),
        ("removed --since (1 year)", ["removed", "--since", ago],
         lambda: queries.removed_since(archive, None, year_ago)),
        ("removed (all time)", ["removed"], lambda: queries.removed_since(archive, None, None)),
        ("publication KEY", ["publication", key], lambda: timeline(key=key)),
        ("publication URL (variant)", ["publication", variant], lambda: queries.publication_timeline(
            archive, by_url(variant))),
        ("search TEXT", ["search", "civilian oversight"], lambda: queries.search(archive, "civilian oversight")),
        ("export --format ndjson", ["export", "--format", "ndjson"], lambda: list(queries.export(archive))),
        ("stats", ["stats"], lambda: queries.stats(archive)),
    ]


def median_ms(fn, runs: int) -> float:
    fn()  # warm-up: the page cache and SQLite's statement cache, as for a second query in a session
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def cli_ms(path: str, argv: list[str], runs: int) -> float:
    command = [sys.executable, "-m", "copswatch", *argv, "--db", path]
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        done = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        times.append((time.perf_counter() - started) * 1000)
        if done.returncode != 0:
            raise SystemExit(f"{' '.join(argv)} failed: {done.stderr.decode()}")
    return statistics.median(times)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.queries", description=__doc__.split("\n")[0])
    parser.add_argument("path", nargs="?", default="bench-queries.db",
                        help="archive to query; built with bench.synth (3,650 nights, seed 1) if missing")
    parser.add_argument("--runs", type=int, default=20, help="in-process runs per query")
    parser.add_argument("--cli-runs", type=int, default=5, help="CLI runs per command")
    args = parser.parse_args(argv)
    if not os.path.exists(args.path):
        print(f"building {args.path} (3,650 nights)…", file=sys.stderr)
        build_archive(args.path, 3650, 1)
    with Archive(args.path) as archive:
        counts = archive.conn.execute(
            "SELECT (SELECT COUNT(*) FROM checks), (SELECT COUNT(*) FROM versions), "
            "(SELECT COUNT(*) FROM publications), (SELECT COUNT(*) FROM events)").fetchone()
        print("archive: {} checks, {} versions, {} publications, {} events\n".format(*counts))
        rows = [(name, cli, median_ms(fn, args.runs)) for name, cli, fn in cases(archive)]
    print(f"{'query':<28} {'in-process ms':>14} {'CLI wall ms':>12}")
    worst = (0.0, 0.0)
    for name, cli, in_process in rows:
        wall = cli_ms(args.path, cli, args.cli_runs)
        worst = (max(worst[0], in_process), max(worst[1], wall))
        print(f"{name:<28} {in_process:>14.1f} {wall:>12.0f}")
    print(f"\nslowest: {worst[0]:.1f} ms in-process (target < 50), {worst[1]:.0f} ms CLI (target < 300)")
    return 0 if worst[0] < 50 and worst[1] < 300 else 1


if __name__ == "__main__":
    sys.exit(main())
