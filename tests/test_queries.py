"""The archive's history questions, asked of an archive built night by night through the real run path.

A loopback server serves the page as it stood each night; ``run_check`` records it with a clock set
to that night, exactly as `copswatch run` would have. The questions are then asked through the CLI.
"""

import asyncio
import csv
import io
import json
from datetime import UTC, datetime

import pytest

from schedules.job import run_check
from scraper.fetch import make_client
from storage.archive import Archive

PORTAL = "https://portal.cops.usdoj.gov/resourcecenter/content.ashx"
RIC = "https://cops.usdoj.gov/RIC/Publications"

OVERSIGHT = ("cops-p100", "Civilian Oversight of the Police in Major Cities",
             "Since the 1950s, when civilian oversight was first implemented in some American police "
             "departments, its use has grown and new forms have developed.", f"{PORTAL}/cops-p100-pub.pdf")
FORCE = ("cops-p200", "Use of Force Review",
         "How agencies review the use of force by officers and report the findings to the public.",
         f"{PORTAL}/cops-p200-pub.pdf")
GUIDE = ("cops-p300", "Community Policing Guide",
         "A practical guide for agencies building partnerships with the neighbourhoods they serve.",
         f"{PORTAL}/cops-p300-pub.pdf")
JUSTICE = ("cops-p400", "Procedural Justice in Practice",
           "Lessons from agencies that trained every officer in procedural justice and measured the results.",
           f"{PORTAL}/cops-p400-pub.pdf")


def retitled(pub, title):
    return (pub[0], title, pub[2], pub[3])


def moved(pub, url):
    return (pub[0], pub[1], pub[2], url)


FORCE_2 = retitled(FORCE, "Use of Force Review (Revised)")
FORCE_3 = retitled(FORCE, "Use of Force Review: 2025 Edition")
OVERSIGHT_MOVED = moved(OVERSIGHT, f"{RIC}/cops-p100-pub.pdf")

# (night, listing or None for a failed fetch). Versions: 1 night 1, 2 night 3, 3 night 4, 4 night 6, 5 night 8.
NIGHTS = [
    ("2025-01-10T07:00:00Z", [OVERSIGHT, FORCE, GUIDE]),
    ("2025-02-10T07:00:00Z", [OVERSIGHT, FORCE, GUIDE]),  # unchanged
    ("2025-03-05T07:00:00Z", [JUSTICE, OVERSIGHT, FORCE_2, GUIDE]),  # added; a title edited
    ("2025-06-01T07:00:00Z", [JUSTICE, OVERSIGHT_MOVED, FORCE_2]),  # GUIDE removed; OVERSIGHT moved
    ("2025-07-01T07:00:00Z", None),  # the site is down: a failed check
    ("2025-09-01T07:00:00Z", [JUSTICE, OVERSIGHT_MOVED, FORCE_3, GUIDE]),  # GUIDE back; title edited again
    ("2025-12-01T07:00:00Z", [JUSTICE, OVERSIGHT_MOVED, FORCE_3, GUIDE]),  # unchanged: JUSTICE last seen
    ("2026-01-15T07:00:00Z", [OVERSIGHT_MOVED, FORCE_3, GUIDE]),  # JUSTICE removed
]


def page(listing) -> bytes:
    cards = "\n".join(
        f'<li class="card"><h3 class="card-title"><a href="{url}">{title}</a></h3>'
        f'<p class="card-text">{description}</p></li>'
        for _key, title, description, url in listing
    )
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>Building Trust | COPS OFFICE</title>"
        "</head><body><header><nav><a href='/'>Home</a> <a href='/grants'>Grants</a></nav></header>"
        "<main><h1>Building Trust</h1><p>Building trust with the community is fundamental to effective "
        f"policing.</p><ul class='card-list'>{cards}</ul></main></body></html>"
    ).encode()


@pytest.fixture
def archive_path(site, db_path):
    with Archive(db_path) as archive, make_client() as client:
        for night, listing in NIGHTS:
            url = site.serve(page(listing)) if listing else site.serve(b"down for maintenance", status=503)
            moment = datetime.fromisoformat(night)
            result = run_check(archive, client, "buildingtrust", url, clock=lambda: moment)
            assert (result.outcome == "failed") == (listing is None)
    return db_path


def at(night: str) -> str:
    return datetime.fromisoformat(night).astimezone(UTC).isoformat(timespec="milliseconds")


def test_when_did_a_publication_first_appear(archive_path, cli_run):
    result = cli_run("publication", "cops-p400", "--json")
    assert result.exit_code == 0
    assert result.data["first_seen_at"] == at("2025-03-05T07:00:00Z")
    assert result.data["first_version_id"] == 2
    assert result.data["last_seen_at"] == at("2025-12-01T07:00:00Z")
    assert (result.data["removed_version_id"], result.data["removed_at"]) == (5, at("2026-01-15T07:00:00Z"))
    assert result.data["listed"] is False
    assert [(e["version_id"], e["kind"]) for e in result.data["events"]] == [(2, "added"), (5, "removed")]


def test_new_since_lists_publications_first_seen_in_the_window(archive_path, cli_run):
    result = cli_run("new", "--since", "2025-03-01", "--json")
    assert result.exit_code == 0
    assert [(r["key"], r["version_id"], r["first_seen_at"]) for r in result.data] == [
        ("cops-p400", 2, at("2025-03-05T07:00:00Z"))]
    everything = cli_run("new", "--since", "2025-01-10", "--json").data
    assert [r["key"] for r in everything] == ["cops-p100", "cops-p200", "cops-p300", "cops-p400"]
    assert cli_run("new", "--since", "2026-02-01", "--json").data == []


def test_what_did_the_page_list_on_a_day(archive_path, cli_run):
    on_first_of_march = cli_run("show", "--at", "2025-03-01", "--json")
    assert on_first_of_march.exit_code == 0
    assert on_first_of_march.data["version_id"] == 1
    assert [r["title"] for r in on_first_of_march.data["resources"]] == [p[1] for p in NIGHTS[0][1]]
    # A date means the whole day: the capture of 5 March at 07:00 is what the page listed that day.
    assert cli_run("show", "--at", "2025-03-05", "--json").data["version_id"] == 2
    assert cli_run("show", "--at", "2025-03-05T06:59:59", "--json").data["version_id"] == 1
    assert cli_run("show", "--at", "2025-03-05T08:30+01:00", "--json").data["version_id"] == 2
    # The failed night changes nothing: on 1 August the page is still as captured on 1 June.
    assert [r["key"] for r in cli_run("show", "--at", "2025-08-01", "--json").data["resources"]] == [
        "cops-p400", "cops-p100", "cops-p200"]
    human = cli_run("show", "--at", "2025-03-01")
    assert human.exit_code == 0 and "version 1" in human.output and "Use of Force Review" in human.output


def test_removed_since_lists_what_is_gone_with_last_seen_and_where_it_vanished(archive_path, cli_run):
    result = cli_run("removed", "--since", "2026-01-01", "--json")
    assert result.exit_code == 0
    assert result.data == [{
        "target": "buildingtrust", "key": "cops-p400", "title": JUSTICE[1], "url": JUSTICE[3],
        "description": JUSTICE[2], "first_seen_at": at("2025-03-05T07:00:00Z"), "last_version_id": 4,
        "last_seen_at": at("2025-12-01T07:00:00Z"), "version_id": 5, "removed_version_id": 5,
        "removed_at": at("2026-01-15T07:00:00Z"), "listed": False,
    }]
    # The guide vanished in June but came back in September: it is not "removed" now.
    assert [r["key"] for r in cli_run("removed", "--since", "2025-01-01", "--json").data] == ["cops-p400"]
    assert cli_run("removed", "--since", "2026-01-16", "--json").data == []
    table = cli_run("removed", "--since", "2026-01-01")
    assert table.exit_code == 0 and "cops-p400" in table.output and "removed_at" in table.output


def test_every_change_to_a_title(archive_path, cli_run):
    result = cli_run("publication", "cops-p200", "--json")
    assert result.exit_code == 0
    changes = [(e["version_id"], e["at"], e["changes"]["title"]) for e in result.data["events"] if e["kind"] == "modified"]
    assert changes == [
        (2, at("2025-03-05T07:00:00Z"), {"before": FORCE[1], "after": FORCE_2[1]}),
        (4, at("2025-09-01T07:00:00Z"), {"before": FORCE_2[1], "after": FORCE_3[1]}),
    ]
    assert [r["title"] for r in result.data["revisions"]] == [FORCE[1], FORCE_2[1], FORCE_3[1]]
    assert result.data["listed"] is True and result.data["removed_at"] is None


def test_publication_timeline_shows_moves_disappearances_and_reappearances(archive_path, cli_run):
    guide = cli_run("publication", "cops-p300", "--json").data
    assert [(e["version_id"], e["kind"]) for e in guide["events"]] == [(1, "added"), (3, "removed"), (4, "reappeared")]
    assert guide["version_count"] == 4  # listed by versions 1, 2, 4 and 5
    oversight = cli_run("publication", "cops-p100", "--json").data
    move = [e for e in oversight["events"] if e["kind"] == "moved"]
    assert move == [{"version_id": 3, "at": at("2025-06-01T07:00:00Z"), "kind": "moved", "title": OVERSIGHT[1],
                     "url": OVERSIGHT_MOVED[3], "changes": {"url": {"before": OVERSIGHT[3], "after": OVERSIGHT_MOVED[3]}}}]
    human = cli_run("publication", "cops-p100")
    assert human.exit_code == 0 and "moved" in human.output and "listed now" in human.output


def test_publication_by_url_old_new_or_variant(archive_path, cli_run):
    for url in (OVERSIGHT[3], OVERSIGHT_MOVED[3],
                "HTTPS://Portal.cops.usdoj.gov/resourcecenter/content.ashx/COPS-P100-pub.pdf?utm_source=x"):
        result = cli_run("publication", url, "--json")
        assert result.exit_code == 0, url
        assert result.data["key"] == "cops-p100"


def test_unknown_publication_is_an_error(archive_path, cli_run):
    result = cli_run("publication", "cops-x999")
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: ") and "cops-x999" in result.stderr


def test_search_finds_every_revision_mentioning_the_words(archive_path, cli_run):
    result = cli_run("search", "civilian oversight", "--json")
    assert result.exit_code == 0
    # The move made a second revision; both carry the words, each with the versions that listed it.
    assert [(r["key"], r["url"], r["versions"]) for r in result.data] == [
        ("cops-p100", OVERSIGHT[3], [1, 2]), ("cops-p100", OVERSIGHT_MOVED[3], [3, 4, 5])]
    assert result.data[0]["first_seen_at"] == at("2025-01-10T07:00:00Z")
    assert cli_run("search", "Revised", "--json").data[0]["title"] == FORCE_2[1]  # a title no longer shown
    assert cli_run("search", "oversight nonexistentword", "--json").data == []
    assert cli_run("search", 'AND "( NEAR', "--json").exit_code == 0  # FTS syntax is taken literally


def test_search_index_follows_new_versions(archive_path, site, cli_run):
    # The whole listing, one title edited (serving that one alone would be a large-removal anomaly).
    url = site.serve(page([OVERSIGHT_MOVED, FORCE_3, retitled(GUIDE, "Community Policing Guide: Mediation Edition")]))
    with Archive(archive_path) as archive, make_client() as client:
        run_check(archive, client, "buildingtrust", url, clock=lambda: datetime(2026, 2, 1, 7, tzinfo=UTC))
    assert [r["versions"] for r in cli_run("search", "mediation", "--json").data] == [[6]]


def test_diff_between_dates_resolves_the_versions_current_then(archive_path, cli_run):
    result = cli_run("diff", "2025-03-01", "2025-06-30", "--json")
    assert result.exit_code == 0
    assert (result.data["old_version_id"], result.data["new_version_id"]) == (1, 3)
    assert [p["key"] for p in result.data["added"]] == ["cops-p400"]
    assert [p["key"] for p in result.data["removed"]] == ["cops-p300"]
    assert [p["key"] for p in result.data["moved"]] == ["cops-p100"]
    assert cli_run("diff", "1", "2025-03-05T07:00Z", "--json").data["new_version_id"] == 2
    before_any = cli_run("diff", "2024-12-31", "3")
    assert before_any.exit_code == 1 and before_any.stderr.startswith("Error: no version")


def test_history_window_and_changes_only(archive_path, cli_run):
    window = cli_run("history", "--since", "2025-03-01", "--until", "2025-07-01", "--json")
    assert window.exit_code == 0
    assert [(c["started_at"], c["outcome"]) for c in window.data["checks"]] == [
        (at("2025-07-01T07:00:00Z"), "failed"), (at("2025-06-01T07:00:00Z"), "changed"),
        (at("2025-03-05T07:00:00Z"), "changed")]
    assert [v["version_id"] for v in window.data["versions"]] == [3, 2]
    assert window.data["checks"][1]["summary"] == window.data["versions"][0]["summary"]
    assert "removed" in window.data["versions"][0]["summary"]
    changes = cli_run("history", "--changes-only", "--json").data
    assert [c["outcome"] for c in changes["checks"]] == ["changed"] * 4 + ["first"]
    assert len(cli_run("history", "--json").data["checks"]) == len(NIGHTS)


@pytest.mark.parametrize("argv", [
    ("show", "--at", "1 March 2025"), ("history", "--since", "2025-13-01"), ("new", "--since", "yesterday"),
    ("removed", "--since", "2025-02-30"), ("diff", "v1", "2"),
])
def test_bad_dates_are_usage_errors(archive_path, cli_run, argv):
    result = cli_run(*argv)
    assert result.exit_code == 2
    assert "ISO 8601" in result.stderr


def test_export_formats_share_stable_fields(archive_path, cli_run, tmp_path):
    from storage.queries import EXPORT_FIELDS

    as_json = cli_run("export", "--format", "json")
    assert as_json.exit_code == 0
    rows = json.loads(as_json.stdout)
    assert [r["key"] for r in rows] == ["cops-p100", "cops-p200", "cops-p300", "cops-p400"]
    assert all(tuple(r) == EXPORT_FIELDS for r in rows)
    justice = rows[3]
    assert (justice["listed"], justice["position"], justice["first_seen_at"], justice["removed_at"]) == (
        False, None, at("2025-03-05T07:00:00Z"), at("2026-01-15T07:00:00Z"))
    assert (rows[1]["title"], rows[1]["position"], rows[1]["revision_count"]) == (FORCE_3[1], 2, 3)
    assert cli_run("export", "--json").data == rows
    assert cli_run("export", "--json", "--format", "csv").exit_code == 2
    ndjson = cli_run("export", "--format", "ndjson")
    assert [json.loads(line) for line in ndjson.stdout.splitlines()] == rows
    out = tmp_path / "pubs.csv"
    assert cli_run("export", "--format", "csv", "--output", out).exit_code == 0
    table = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))
    assert [r["key"] for r in table] == [r["key"] for r in rows] and tuple(table[0]) == EXPORT_FIELDS


def test_stats(archive_path, cli_run):
    result = cli_run("stats", "--json")
    assert result.exit_code == 0
    data = result.data
    assert (data["checks"], data["versions"], data["publications"], data["publications_listed"]) == (8, 5, 4, 3)
    assert data["outcomes"] == {"changed": 4, "failed": 1, "first": 1, "unchanged": 2}
    assert data["events"]["removed"] == 2 and data["events"]["reappeared"] == 1 and data["events"]["moved"] == 1
    assert (data["first_check_at"], data["last_check_at"]) == (at("2025-01-10T07:00:00Z"), at("2026-01-15T07:00:00Z"))
    assert data["span_days"] == 370.0
    assert data["archive_bytes"] > 0
    assert "versions" in cli_run("stats").output


def test_views_answer_the_questions_in_one_select(archive_path):
    with Archive(archive_path) as archive:
        conn = archive.conn
        assert conn.execute("SELECT first_seen_at FROM publication_spans WHERE key = 'cops-p400'").fetchone()[0] == at(
            "2025-03-05T07:00:00Z")
        assert conn.execute(
            "SELECT added, removed, modified, moved FROM version_changes WHERE version_id = 3").fetchone() == (0, 1, 0, 1)
        kinds = conn.execute("SELECT kind FROM publication_timeline WHERE key = 'cops-p300' ORDER BY version_id").fetchall()
        assert kinds == [("added",), ("removed",), ("reappeared",)]


def datasette_get(db_path, path: str):
    from datasette.app import Datasette

    from copswatch.cli_query import datasette_metadata

    async def get():
        ds = Datasette([str(db_path)], metadata=datasette_metadata(db_path.stem))
        return await ds.client.get(path)

    response = asyncio.run(get())
    assert response.status_code == 200, response.text
    return response.json()


def test_canned_queries_run_in_datasette(archive_path):
    db = archive_path.stem

    def canned(name, **params):
        query = "&".join(f"{k}={v}" for k, v in params.items())
        return datasette_get(archive_path, f"/{db}/{name}.json?_shape=array&{query}")

    first = canned("first_seen", q="Procedural")
    assert [(r["key"], r["first_seen_at"]) for r in first] == [("cops-p400", at("2025-03-05T07:00:00Z"))]
    on_day = canned("page_on_day", day="2025-03-01")
    assert [r["key"] for r in on_day] == ["cops-p100", "cops-p200", "cops-p300"]
    assert {r["version_id"] for r in canned("page_on_day", day="2025-03-05")} == {2}
    assert [r["key"] for r in canned("removed_since", since="2026-01-01")] == ["cops-p400"]
    assert [r["key"] for r in canned("new_since", since="2025-03-01")] == ["cops-p400"]
    titles = canned("title_changes", key="cops-p200")
    assert [(r["title_before"], r["title_after"]) for r in titles] == [(FORCE[1], FORCE_2[1]), (FORCE_2[1], FORCE_3[1])]
    assert [r["kind"] for r in canned("publication_history", key="cops-p300")] == ["added", "removed", "reappeared"]
    mentions = canned("mentions", text="civilian%20oversight")
    assert [(r["key"], r["versions"]) for r in mentions] == [("cops-p100", "1,2"), ("cops-p100", "3,4,5")]
    assert [r["version_id"] for r in canned("changes_per_version")] == [5, 4, 3, 2, 1]


def test_datasette_metadata_describes_every_table_and_view(archive_path):
    from copswatch.cli_query import datasette_metadata

    listed = datasette_get(archive_path, f"/{archive_path.stem}.json")
    names = {t["name"] for t in listed["tables"] if not t["hidden"]} | {v["name"] for v in listed.get("views", [])}
    described = set(datasette_metadata("x")["databases"]["x"]["tables"])
    assert {"checks", "versions", "publications", "events", "publication_spans"} <= names
    assert names - {"_sqlite_migrations"} <= described


def test_upgrading_an_existing_archive_indexes_what_it_already_holds(site, db_path, cli_run):
    import sqlite3

    from sqlite_utils import Database

    from storage import SCHEMA_VERSION
    from storage.migrations import migrations

    conn = sqlite3.connect(db_path)
    migrations.apply(Database(conn), stop_before="m003_query_views")
    from storage.migrations import m005_packed_bodies_and_texts

    m005_packed_bodies_and_texts(Database(conn))  # the columns today's recording code writes
    conn.execute("INSERT INTO _sqlite_migrations (migration_set, name, applied_at) "
                 "VALUES ('copswatch', 'm005_packed_bodies_and_texts', '2025-01-01')")
    conn.commit()
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")  # so that recording does not upgrade it yet
    conn.close()
    with Archive(db_path) as archive, make_client() as client:  # an archive written before m003
        for night, listing in NIGHTS[:4]:
            moment = datetime.fromisoformat(night)
            run_check(archive, client, "buildingtrust", site.serve(page(listing)), clock=lambda: moment)
        assert not archive.conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'publication_spans'").fetchall()
        archive.conn.execute("PRAGMA user_version = 1")
    result = cli_run("search", "civilian oversight", "--json")  # opening applies m003
    assert result.exit_code == 0
    assert [r["versions"] for r in result.data] == [[1, 2], [3]]
    assert [r["key"] for r in cli_run("removed", "--json").data] == ["cops-p300"]


def test_browse_refuses_a_missing_archive(tmp_path, cli_run):
    result = cli_run("browse", "--no-open", "--db", tmp_path / "nothing.db", db=False)
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: ")


def test_browse_without_datasette_says_how_to_install_it(archive_path, cli_run, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "datasette.cli", None)  # as if the [browse] extra were not installed
    result = cli_run("browse", "--no-open")
    assert result.exit_code == 2
    assert "pip install 'copswatch[browse]'" in result.stderr
