"""`copswatch reparse`: a parser fix repairs history built through the real run path."""

import dataclasses
import sqlite3

import pytest

import scraper.parse
from tests.conftest import fixture_bytes

NEWER = fixture_bytes("buildingtrust-newer.html")
OLDER = fixture_bytes("buildingtrust-older.html")
DERIVED = ("versions", "version_publications", "publication_revisions", "publications", "spotlight_items", "events")


def rows(db_path, sql, params=()):
    with sqlite3.connect(db_path) as conn:
        return conn.execute(sql, params).fetchall()


def snapshot(db_path):
    return {t: rows(db_path, f"SELECT * FROM {t} ORDER BY 1, 2") for t in (*DERIVED, "checks")}


@pytest.fixture
def broken_parser(monkeypatch):
    """A parser with a bug: returns only the publications ``keep`` accepts."""
    real = scraper.parse.parse

    def install(keep):
        def parse(*args, **kwargs):
            page = real(*args, **kwargs)
            kept = [p for p in page.publications if keep(p)]
            return dataclasses.replace(page, publications=tuple(
                dataclasses.replace(p, position=i) for i, p in enumerate(kept, 1)))

        monkeypatch.setattr(scraper.parse, "parse", parse)

    yield install
    monkeypatch.setattr(scraper.parse, "parse", real)


def test_reparse_repairs_a_publication_the_parser_dropped(site, cli_run, db_path, broken_parser, monkeypatch):
    broken_parser(lambda p: p.key != "cops-p169")
    url = site.serve(OLDER)
    assert cli_run("run", "--url", url, "--json").data["outcome"] == "first"
    site.serve(NEWER)
    assert cli_run("run", "--url", url, "--json").data["outcome"] == "changed"
    assert rows(db_path, "SELECT publication_count FROM versions ORDER BY id") == [(5,), (8,)]
    monkeypatch.undo()  # the parser is fixed
    requests = len(site.requests)

    result = cli_run("reparse", "--json")
    assert result.exit_code == 0 and result.data["changed"] is True
    (report,) = result.data["targets"]
    assert report["outcomes"] == []
    assert [v["check_id"] for v in report["versions"]] == [1, 2]
    assert [[p["key"] for p in v["added"]] for v in report["versions"]] == [["cops-p169"], ["cops-p169"]]
    assert all(v["removed"] == [] for v in report["versions"])
    assert len(site.requests) == requests  # nothing was fetched

    assert rows(db_path, "SELECT publication_count FROM versions ORDER BY id") == [(6,), (9,)]
    assert len(cli_run("show", "--json").data["resources"]) == 9
    events = rows(db_path, "SELECT v.check_id, e.kind, COUNT(*) FROM events e JOIN versions v ON v.id = e.version_id "
                           "GROUP BY 1, 2 ORDER BY 1, 2")
    assert events == [(1, "added", 6), (2, "added", 3)]  # the new diff: three added, nothing removed
    assert rows(db_path, "SELECT c.id, c.version_id = v.id FROM checks c JOIN versions v ON v.check_id = c.id "
                         "ORDER BY c.id") == [(1, 1), (2, 1)]
    assert rows(db_path, "SELECT DISTINCT parser_version FROM checks") == [(scraper.PARSER_VERSION,)]
    found = cli_run("search", "Evaluation Brief No. 3", "--json").data  # the search index follows the rebuild
    assert [(r["key"], r["versions"]) for r in found] == [("cops-p169", [1, 2])]

    before = snapshot(db_path)
    again = cli_run("reparse", "--json")  # idempotent
    assert again.exit_code == 0 and again.data["changed"] is False
    assert again.data["targets"][0]["versions"] == [] and again.data["targets"][0]["outcomes"] == []
    assert snapshot(db_path) == before


def test_reparse_turns_an_anomaly_of_a_broken_parser_into_the_real_change(site, cli_run, db_path, broken_parser,
                                                                         monkeypatch):
    url = site.serve(OLDER)
    cli_run("run", "--url", url)
    new_three = {"cops-w0900", "cops-w0801", "cops-w0830"}
    broken_parser(lambda p: p.key in new_three)  # the bug sees only the first three entries
    site.serve(NEWER)
    result = cli_run("run", "--url", url, "--json")
    assert result.data["outcome"] == "anomaly" and result.data["reason"].startswith("large-removal")
    monkeypatch.undo()

    report = cli_run("reparse", "--json").data["targets"][0]
    (outcome,) = report["outcomes"]
    assert (outcome["check_id"], outcome["before"], outcome["after"]) == (2, "anomaly", "changed")
    (version,) = report["versions"]
    assert sorted(p["key"] for p in version["added"]) == sorted(new_three)
    diff = cli_run("diff", "--json").data
    assert len(diff["added"]) == 3 and diff["removed"] == []
    assert rows(db_path, "SELECT outcome, reason, anomaly FROM checks ORDER BY id") == \
        [("first", None, None), ("changed", None, None)]


def test_reparse_keeps_failed_fetches_and_repoints_them(site, cli_run, db_path, broken_parser, monkeypatch):
    broken_parser(lambda p: p.key != "cops-p170")
    url = site.serve(OLDER)
    cli_run("run", "--url", url)
    site.serve(b"busy", status=503)
    assert cli_run("run", "--url", url, "--json").data["outcome"] == "failed"
    monkeypatch.undo()
    assert cli_run("reparse").exit_code == 0
    assert rows(db_path, "SELECT outcome, version_id FROM checks ORDER BY id") == [("first", 1), ("failed", 1)]
    assert rows(db_path, "SELECT COUNT(*) FROM current_publications") == [(6,)]


def test_reparse_text_output_and_empty_archive(site, cli_run, db_path):
    url = site.serve(NEWER)
    cli_run("run", "--url", url)
    result = cli_run("reparse")
    assert result.exit_code == 0 and "no differences" in result.stdout
    assert cli_run("reparse", "--target", "other", "--json").data["targets"][0]["checks"] == 0


def test_reparse_never_enqueues_or_sends_alerts(site, cli_run, db_path, broken_parser, monkeypatch):
    dead = "json://127.0.0.1:9/"  # nothing listens there: deliveries stay pending, countable
    broken_parser(lambda p: p.key not in {"cops-w0900", "cops-p169"})
    url = site.serve(OLDER)
    cli_run("run", "--url", url, "--notify", dead)
    site.serve(NEWER)
    cli_run("run", "--url", url, "--notify", dead)
    before = rows(db_path, "SELECT * FROM deliveries ORDER BY id")
    assert before  # the second run's events were enqueued
    monkeypatch.undo()
    requests = len(site.requests)
    report = cli_run("reparse", "--json").data["targets"][0]
    assert report["changed"] and report["versions"]  # history did change: new added events exist now
    assert rows(db_path, "SELECT * FROM deliveries ORDER BY id") == before
    assert len(site.requests) == requests


def test_reparse_keeps_a_confirmed_large_removal(site, cli_run, db_path):
    # newer → cut to three (anomaly) → the same three again (confirmed: a real removal) → newer (back)
    url = site.serve(NEWER)
    cut = NEWER[: NEWER.index(b"cops-p262")]  # the first three publications only
    outcomes = []
    for body in (NEWER, cut, cut, NEWER):
        site.serve(body)
        outcomes.append(cli_run("run", "--url", url, "--json").data["outcome"])
    assert outcomes == ["first", "anomaly", "changed", "changed"]
    before = snapshot(db_path)
    result = cli_run("reparse", "--json")
    assert result.exit_code == 0
    assert snapshot(db_path) == before  # the parser did not change: neither does history
    assert not any(r["changed"] for r in result.data["targets"])
