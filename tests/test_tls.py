"""TLS stays verified although the context is built lazily: a loopback https server with a
certificate from a throwaway CA (trustme) is refused until that CA is trusted ($SSL_CERT_FILE, as
httpx reads it), directly and after a redirect from http://; an http:// check never builds it."""

import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
import trustme

from scraper.errors import FetchError
from scraper.fetch import DeferredTLSContext, FetchPolicy, fetch, make_client
from tests.conftest import fixture_bytes

PAGE = fixture_bytes("buildingtrust-older.html")
NO_ROBOTS = FetchPolicy(obey_robots=False)


class Server:
    """A loopback server answering every GET with PAGE, or with a redirect to ``redirect_to``."""

    def __init__(self, tls: ssl.SSLContext | None = None, redirect_to: str | None = None):
        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                if redirect_to:
                    self.send_response(302)
                    self.send_header("Location", redirect_to)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(PAGE)))
                self.end_headers()
                self.wfile.write(PAGE)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        if tls:
            self.httpd.socket = tls.wrap_socket(self.httpd.socket, server_side=True)
        self.url = f"{'https' if tls else 'http'}://127.0.0.1:{self.httpd.server_port}/buildingtrust"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def ca():
    return trustme.CA()


@pytest.fixture
def https_site(ca):
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    server = Server(tls=context)
    yield server
    server.close()


@pytest.fixture
def trusted(ca, tmp_path, monkeypatch):
    """The throwaway CA trusted the way httpx lets a user trust a private CA: $SSL_CERT_FILE."""
    path = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    monkeypatch.setenv("SSL_CERT_FILE", str(path))
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)


def test_https_with_an_untrusted_certificate_is_refused(https_site, monkeypatch):
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    with make_client() as client, pytest.raises(FetchError) as failure:
        fetch(client, https_site.url, policy=NO_ROBOTS)
    assert "CERTIFICATE_VERIFY_FAILED" in failure.value.reason


def test_https_with_a_trusted_certificate_is_fetched(https_site, trusted):
    with make_client() as client:
        response = fetch(client, https_site.url, policy=NO_ROBOTS)
    assert response.status == 200 and response.body == PAGE


def test_redirect_from_http_to_untrusted_https_is_refused(https_site, monkeypatch):
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    plain = Server(redirect_to=https_site.url)
    try:
        with make_client() as client, pytest.raises(FetchError) as failure:
            fetch(client, plain.url, policy=NO_ROBOTS)
    finally:
        plain.close()
    assert "CERTIFICATE_VERIFY_FAILED" in failure.value.reason


def test_redirect_from_http_to_trusted_https_is_followed(https_site, trusted):
    plain = Server(redirect_to=https_site.url)
    try:
        with make_client() as client:
            response = fetch(client, plain.url, policy=NO_ROBOTS)
    finally:
        plain.close()
    assert response.final_url == https_site.url and response.redirects == (plain.url,)
    assert response.body == PAGE


def test_the_context_is_built_on_the_first_tls_connection_only(https_site, trusted):
    plain = Server()
    context = DeferredTLSContext()
    try:
        with httpx.Client(verify=context) as client:
            assert client.get(plain.url).content == PAGE
            assert context._context is None  # an http:// request never built it
            assert client.get(https_site.url).content == PAGE
    finally:
        plain.close()
    built = context._context
    assert isinstance(built, ssl.SSLContext)
    assert built.verify_mode == ssl.CERT_REQUIRED and built.check_hostname
