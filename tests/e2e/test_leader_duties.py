"""The leader's duties outlive a database blip: a probe engine whose connection is cut while it
starts is started again (/healthz says so meanwhile), and the instance goes on campaigning for
the lease."""

import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any, cast

import pytest
from sqlalchemy import Connection, text

from bot.sandbox import EmulatorThread
from bot.storage.database import make_engine
from tests.plugins.bot import start_bot, stop_bot
from tests.plugins.db import PostgresDatabases


def wait_for(condition: Callable[[], object], what: str, timeout_s: float = 20) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"never: {what}")


def health(port: int) -> dict[str, Any]:
    """GET /healthz, whatever its status."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as response:
            return cast(dict[str, Any], json.load(response))
    except urllib.error.HTTPError as error:  # 503: unhealthy, the report in the body
        return cast(dict[str, Any], json.load(error))


def waiting_on_a_lock(admin: Connection, database: str) -> list[int]:
    """The backends of `database` waiting for a lock."""
    query = "SELECT pid FROM pg_stat_activity WHERE datname = :db AND wait_event_type = 'Lock'"
    return [row.pid for row in admin.execute(text(query), {"db": database})]


@pytest.mark.postgres
def test_probes_cut_off_while_starting_start_again_and_the_leader_still_campaigns(
    slack: EmulatorThread, postgres: PostgresDatabases, postgres_template: str
) -> None:
    """The leader's probe engine loses its connection while it loads the probes' states: once
    the database answers, the probes run; and when another instance takes the lease and gives
    it up, this one leads again (its step down does not fail on the engine's old error)."""
    url = postgres.create(template=postgres_template)
    database = str(url.database)
    engine = make_engine(url)
    try:
        with engine.connect() as holder, postgres.admin.connect() as admin:
            holder.execute(text("LOCK TABLE probe_states IN ACCESS EXCLUSIVE MODE"))
            running, loop = start_bot(slack, url, probes=True)
            server = running.server
            try:
                assert server.leadership.is_leader
                wait_for(lambda: waiting_on_a_lock(admin, database), "the probes wait on the lock")
                assert server.probes_failure() is None  # starting, not failed
                for pid in waiting_on_a_lock(admin, database):
                    admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
                # What /healthz reports; asked directly: while the table is locked, what reads it
                # (the milestones job) may hold every database thread, /healthz's too.
                wait_for(lambda: server.probes_failure(), "the probes are said down")
                assert server.probes_failure() == "OperationalError"
                holder.rollback()  # the database answers again

                def probe_states() -> int:
                    count = holder.execute(text("SELECT count(*) FROM probe_states")).scalar_one()
                    holder.rollback()
                    return int(count)

                wait_for(lambda: probe_states() > 0, "the probes run and store their states")
                assert server.probes_failure() is None
                assert health(server.port)["probes"] == {"ok": True, "error": None}

                holder.execute(
                    text("UPDATE leases SET holder = 'other', expires_at = now() + interval '1 h'")
                )
                holder.commit()
                wait_for(lambda: not server.leadership.is_leader, "another instance leads")
                holder.execute(text("DELETE FROM leases"))  # it stopped and gave the lease up
                holder.commit()
                wait_for(lambda: server.leadership.is_leader, "this instance leads again")
            finally:
                stop_bot(running, loop)
    finally:
        engine.dispose()
        postgres.drop(url)
