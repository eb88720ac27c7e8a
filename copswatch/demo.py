"""`copswatch demo`: replay nights of the page from snapshots shipped in the package, offline.

A loopback HTTP server serves one snapshot per night and each night goes through the same
``run_check`` as `copswatch run`, into a real archive the user can query afterwards.
"""

import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib.resources import files

from copswatch.config import DEFAULT_TARGET
from copswatch.errors import CopswatchError

PAGES = files("copswatch") / "demo_pages"
DEMO_PATH = "/copswatch-demo/buildingtrust"  # marks a demo archive, which a later demo may replace
EDITED = (
    "Examines the successes and challenges of creating a culture of integrity",
    "Examines the successes and challenges of creating and sustaining a culture of integrity",
)


MAINTENANCE = (b"<!DOCTYPE html><html><head><title>Site Maintenance | COPS OFFICE</title></head><body><main>"
               b"<h1>Site Maintenance</h1><p>This site is undergoing scheduled maintenance. Please check back "
               b"later.</p></main></body></html>")


def _snapshot(name: str) -> bytes:
    # The snapshots were taken from cops.usdoj.gov: keep their relative links pointing there.
    page = (PAGES / name).read_bytes()
    return page.replace(b"<head>", b'<head><base href="https://cops.usdoj.gov/buildingtrust">', 1)


def nights() -> list[tuple[str, bytes]]:
    older = _snapshot("buildingtrust-older.html")
    newer = _snapshot("buildingtrust-newer.html")
    edited = newer.replace(EDITED[0].encode(), EDITED[1].encode())
    return [
        ("night 1: first capture of the older page", older),
        ("night 2: the same page again", older),
        ("night 3: the newer page (three publications added, the rest reordered)", newer),
        ("night 4: one description edited", edited),
        ("night 5: a maintenance page served with HTTP 200 (an anomaly: the archive keeps version 3)", MAINTENANCE),
    ]


class _Page(BaseHTTPRequestHandler):
    def do_GET(self):
        found = self.path == DEMO_PATH  # anything else (robots.txt included) is not there
        body = self.server.body if found else b"not found"
        self.send_response(200 if found else 404)
        self.send_header("Content-Type", "text/html; charset=utf-8" if found else "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def _prepare(db_path: str) -> None:
    """Replace an earlier demo archive; refuse to touch any other file."""
    if not os.path.exists(db_path):
        return
    from storage.archive import Archive

    with Archive(db_path, create=False) as archive:
        urls = {row[0] for row in archive.db.execute("SELECT DISTINCT url FROM checks")}
    if not all(url.startswith("http://127.0.0.1:") and DEMO_PATH in url for url in urls):
        raise CopswatchError(f"{db_path} holds a real archive; give the demo another --db path")
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(db_path + suffix):
            os.remove(db_path + suffix)


def run_demo(db_path: str, echo) -> None:
    from copswatch.cli import print_check
    from schedules.job import run_check
    from scraper.fetch import make_client
    from storage.archive import Archive

    _prepare(db_path)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Page)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_port}{DEMO_PATH}"
    try:
        with Archive(db_path) as archive, make_client(timeout=10) as client:
            for title, body in nights():
                server.body = body
                echo(f"\n== {title}")
                print_check(run_check(archive, client, DEFAULT_TARGET, url))
    finally:
        server.shutdown()
        server.server_close()
    echo(f"\nThe archive is in {db_path}. Try:\n"
         f"  copswatch history --db {db_path}\n"
         f"  copswatch show --db {db_path} --json\n"
         f"  copswatch diff 1 2 --db {db_path}")
