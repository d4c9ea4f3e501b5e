"""Helpers for probe tests: a settable clock, catalog servers and their database rows."""

import os
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from bot.config.catalog import ServerSpec
from bot.storage.database import transaction
from bot.storage.models import Client, Server

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


class Clock:
    """An injected clock that moves only when told to."""

    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def server(server_id: str, host: str, *probes: dict[str, Any]) -> ServerSpec:
    """A catalog server, validated like the real catalog."""
    return ServerSpec.model_validate(
        {"id": server_id, "client": "acme", "host": host, "probes": list(probes)}
    )


def seed(sessions: sessionmaker[Session], servers: Sequence[ServerSpec]) -> None:
    """Insert the client and server rows that probe states and outages reference."""
    with transaction(sessions) as session:
        session.add(Client(id="acme", name="Acme", level="gold", monthly_fee=100.0, added_at=T0))
        session.flush()
        session.add_all(
            Server(id=spec.id, client_id="acme", host=spec.host, added_at=T0) for spec in servers
        )


def unavailable(reason: str) -> None:
    """Skip, saying why; in CI (CI=true) fail instead, since CI must run everything."""
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason)
