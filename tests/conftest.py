"""Shared fixtures: a fresh archive file, a loopback site whose pages and faults a test sets, the CLI runner."""

import json
import os
import socket
import struct
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

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
                 "NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    for name in list(os.environ):
        if name.startswith("COPSWATCH_"):
            monkeypatch.delenv(name)
    # Retry waits stay short in tests; a test that is about the waits sets its own.
    monkeypatch.setenv("COPSWATCH_BACKOFF_BASE", "0.01")
    monkeypatch.setenv("COPSWATCH_BACKOFF_CAP", "0.05")
    from scraper import robots

    robots._cache.clear()  # loopback ports are reused between tests


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


@dataclass
class Fault:
    """How to misbehave on a path: ``kind`` is one of FAULTS; the first ``times`` requests (all if None)."""

    kind: str
    times: int | None = None
    options: dict = field(default_factory=dict)


FAULTS = ("status", "reset", "stall", "short", "binary", "redirect_loop", "redirect", "drip", "oversized",
          "bad_gzip")


class Site:
    """A real HTTP server on 127.0.0.1. Set ``site.pages[path]`` to a Response, or ``site.fault(...)``
    to make a path misbehave; requests are recorded."""

    def __init__(self):
        self.pages: dict[str, Response] = {}
        self.faults: dict[str, Fault] = {}
        self.requests: list[dict] = []
        self.lock = threading.Lock()
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                path = urlsplit(self.path).path  # absolute-form too: the site doubles as an HTTP proxy
                with site.lock:
                    site.requests.append({"path": self.path, "headers": dict(self.headers)})
                    fault = site.faults.get(path)
                    if fault is not None and fault.times is not None:
                        fault.times -= 1
                        if fault.times < 0:
                            fault = None
                if fault is not None:
                    return misbehave(self, fault)
                page = site.pages.get(path)
                if page is None:
                    page = Response(b"<html><body><h1>Page not found</h1></body></html>", 404)
                etag = page.headers.get("ETag")
                if etag and self.headers.get("If-None-Match") == etag:  # RFC 9110 §13.1.2
                    page = Response(b"", 304, {"ETag": etag})
                self.send_response(page.status)
                for name, value in page.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(page.body)))
                self.end_headers()
                self.wfile.write(page.body)

            def log_message(self, *args):
                pass

        class Server(ThreadingHTTPServer):
            def handle_error(self, request, client_address):
                pass  # the client hanging up on a fault is the point, not an error

        self.server = Server(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def url(self, path: str = "/buildingtrust") -> str:
        return f"http://127.0.0.1:{self.server.server_port}{path}"

    def serve(self, body: bytes, path: str = "/buildingtrust", **kwargs) -> str:
        self.faults.pop(path, None)
        self.pages[path] = Response(body, **kwargs)
        return self.url(path)

    def fault(self, kind: str, path: str = "/buildingtrust", *, times: int | None = None, **options) -> str:
        """Make ``path`` misbehave (see ``misbehave``); after ``times`` requests it serves its page again."""
        assert kind in FAULTS, kind
        self.faults[path] = Fault(kind, times, options)
        return self.url(path)

    def hits(self, path: str = "/buildingtrust") -> int:
        return sum(1 for r in self.requests if urlsplit(r["path"]).path == path)


def misbehave(handler: BaseHTTPRequestHandler, fault: Fault) -> None:
    """Answer one request the way ``fault.kind`` says.

    status         ``status`` (default 503) with ``headers`` (e.g. Retry-After) and a small error page
    reset          close the connection with a TCP reset before answering
    stall          say nothing for ``seconds`` (default 3), then hang up
    short          promise ``length`` bytes in Content-Length, send fewer, hang up
    binary         200 text/html whose body is random binary bytes
    redirect_loop  302 to itself, forever
    redirect       302 to ``location`` (default "/", the home page)
    drip           200 with a body sent one byte every ``interval`` seconds (default 0.05)
    oversized      200 text/html, no Content-Length, an endless body until the client hangs up;
                   with ``declare`` the Content-Length header announces ``declare`` bytes
    bad_gzip       200 text/html, Content-Encoding: gzip, a body that is not gzip
    """
    opts, kind = fault.options, fault.kind
    send = handler.wfile.write
    try:
        if kind == "status":
            body = b"<html><body><h1>Service unavailable</h1></body></html>"
            handler.send_response(opts.get("status", 503))
            for name, value in {"Content-Type": "text/html", **opts.get("headers", {})}.items():
                handler.send_header(name, value)
            handler.send_header("Content-Length", str(len(body)))
            handler.end_headers()
            send(body)
        elif kind == "reset":
            handler.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            handler.connection.close()
        elif kind == "stall":
            time.sleep(opts.get("seconds", 3))
            handler.close_connection = True
        elif kind == "short":
            body = b"<html><body><h1>Building Trust</h1><p>cut off here"
            handler.send_response(200)
            handler.send_header("Content-Type", "text/html; charset=utf-8")
            handler.send_header("Content-Length", str(opts.get("length", 10_000)))
            handler.end_headers()
            send(body)
            handler.wfile.flush()
            handler.connection.shutdown(socket.SHUT_RDWR)
        elif kind == "binary":
            body = bytes(range(256)) * 64
            handler.send_response(200)
            handler.send_header("Content-Type", "text/html; charset=utf-8")
            handler.send_header("Content-Length", str(len(body)))
            handler.end_headers()
            send(body)
        elif kind in ("redirect_loop", "redirect"):
            handler.send_response(302)
            handler.send_header("Location", handler.path if kind == "redirect_loop" else opts.get("location", "/"))
            handler.send_header("Content-Length", "0")
            handler.end_headers()
        elif kind == "drip":
            body = opts.get("body", b"<html><body>" + b"." * 200 + b"</body></html>")
            handler.send_response(200)
            handler.send_header("Content-Type", "text/html")
            handler.send_header("Content-Length", str(len(body)))
            handler.end_headers()
            for byte in body:
                send(bytes([byte]))
                handler.wfile.flush()
                time.sleep(opts.get("interval", 0.05))
        elif kind == "oversized":
            handler.send_response(200)
            handler.send_header("Content-Type", "text/html")
            if "declare" in opts:
                handler.send_header("Content-Length", str(opts["declare"]))
            handler.end_headers()
            send(b"<html><body>")
            chunk = b"<p>" + b"x" * 65_532 + b"</p>"
            while True:
                send(chunk)
        elif kind == "bad_gzip":
            body = b"this is not gzip data at all" * 10
            handler.send_response(200)
            handler.send_header("Content-Type", "text/html")
            handler.send_header("Content-Encoding", "gzip")
            handler.send_header("Content-Length", str(len(body)))
            handler.end_headers()
            send(body)
    except OSError:
        pass  # the client gave up on us: expected for stall, drip and oversized
    handler.close_connection = True


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
