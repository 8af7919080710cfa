"""Fixtures of the api plugin tests."""

from __future__ import annotations

import ssl
from collections.abc import Callable, Iterator

import pytest
from api_helpers import ExchangeServer, Route, Tls


@pytest.fixture(scope="session")
def tls() -> Tls:
    trustme = pytest.importorskip("trustme")
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(server)
    return Tls(ca.cert_pem.bytes(), server)


@pytest.fixture
def serve() -> Iterator[Callable[..., ExchangeServer]]:
    """Start an :class:`ExchangeServer` with the given routes (``tls=`` for HTTPS)."""
    started: list[ExchangeServer] = []

    def start(routes: dict[str, Route], tls: ssl.SSLContext | None = None) -> ExchangeServer:
        server = ExchangeServer(routes, tls).__enter__()
        started.append(server)
        return server

    yield start
    for server in started:
        server.__exit__(None, None, None)
