"""Shared fixtures: a fresh archive file, a loopback site whose pages a test sets, the CLI runner."""

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from click.testing import CliRunner

from copswatch.cli import cli
from storage.archive import Archive

FIXTURES = Path(__file__).parent / "fixtures"


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


@pytest.fixture(autouse=True)
def no_proxies(monkeypatch):
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy",
                 "COPSWATCH_DB"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def db_path(tmp_path) -> Path:
    return tmp_path / "archive.db"


@pytest.fixture
def db(db_path):
    with Archive(db_path) as archive:
        yield archive


@dataclass
class Response:
    body: bytes = b""
    status: int = 200
    headers: dict = field(default_factory=lambda: {"Content-Type": "text/html; charset=utf-8"})


class Site:
    """A real HTTP server on 127.0.0.1. Set ``site.pages[path]`` to a Response; requests are recorded."""

    def __init__(self):
        self.pages: dict[str, Response] = {}
        self.requests: list[dict] = []
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                site.requests.append({"path": self.path, "headers": dict(self.headers)})
                page = site.pages.get(self.path.split("?")[0])
                if page is None:
                    page = Response(b"<html><body><h1>Page not found</h1></body></html>", 404)
                self.send_response(page.status)
                for name, value in page.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(page.body)))
                self.end_headers()
                self.wfile.write(page.body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def url(self, path: str = "/buildingtrust") -> str:
        return f"http://127.0.0.1:{self.server.server_port}{path}"

    def serve(self, body: bytes, path: str = "/buildingtrust", **kwargs) -> str:
        self.pages[path] = Response(body, **kwargs)
        return self.url(path)


@pytest.fixture
def site():
    s = Site()
    s.thread.start()
    yield s
    s.server.shutdown()
    s.server.server_close()


@pytest.fixture
def cli_run(db_path):
    """Invoke the CLI in-process like a user would; parse JSON output when --json is given."""
    runner = CliRunner()

    def invoke(*args, db=True):
        argv = [str(a) for a in args] + (["--db", str(db_path)] if db else [])
        result = runner.invoke(cli, argv, catch_exceptions=False)
        result.data = json.loads(result.stdout) if "--json" in argv and result.stdout.strip() else None
        return result

    return invoke
