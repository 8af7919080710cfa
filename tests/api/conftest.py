"""Fixtures of the api plugin tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from api_helpers import ExchangeServer, Route


@pytest.fixture
def serve() -> Iterator[Callable[[dict[str, Route]], ExchangeServer]]:
    """Start an :class:`ExchangeServer` with the given routes; stopped after the test."""
    started: list[ExchangeServer] = []

    def start(routes: dict[str, Route]) -> ExchangeServer:
        server = ExchangeServer(routes).__enter__()
        started.append(server)
        return server

    yield start
    for server in started:
        server.__exit__(None, None, None)
