"""The whole bot, running for real against the emulator and a fresh database.

`bot` starts a BotServer (HTTP on 127.0.0.1, outbox sender, scheduler) on its own loop thread,
with the example catalog and a clock the test can set: `bot.clock.set(...)`/`advance(...)`.
"""

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import URL
from sqlalchemy.orm import Session, sessionmaker

from bot.app import BotServer, Runtime, SlackCredentials, build_runtime
from bot.config import Settings
from bot.outbox.sender import SenderConfig
from bot.sandbox import EmulatorThread, LoopThread, parse_blocks
from bot.sandbox.limits import text_too_long
from bot.storage.probes import add_outage

EXAMPLE_CATALOG = Path(__file__).parents[2] / "examples" / "catalog.toml"
ALERTS = "C01ALERTS"
TECH = "U01AAA"
TECH2 = "U01BBB"
OUTSIDER = "U09NOBODY"


@dataclass
class MovableClock:
    """Real time until the test sets it; then frozen where set, until set or advanced again."""

    frozen: datetime | None = None

    def __call__(self) -> datetime:
        return self.frozen if self.frozen is not None else datetime.now(UTC)

    def set(self, at: datetime) -> None:
        self.frozen = at

    def advance(self, delta: timedelta) -> None:
        self.frozen = self() + delta


@dataclass
class RunningBot:
    server: BotServer
    runtime: Runtime
    clock: MovableClock
    slack: EmulatorThread

    @property
    def sessions(self) -> sessionmaker[Session]:
        return self.runtime.sessions

    def command(self, text: str, *, user_id: str = TECH, command: str = "/intervention") -> str:
        """Send a slash command over HTTP; the text of the bot's immediate reply, which Slack
        would show (its blocks and text within Slack's limits: it shows an error instead)."""
        reply = self.slack.send_slash_command(command, text, user_id=user_id, channel_id=ALERTS)
        assert reply.status == 200, reply.body
        message = reply.json() if reply.body.startswith("{") else None
        if isinstance(message, dict):
            parse_blocks(message.get("blocks"))  # raises BlocksError as Slack refuses them
            assert not text_too_long(str(message.get("text") or "")), "msg_too_long"
        return reply.text

    def healthz(self) -> tuple[int, dict[str, Any]]:
        """GET /healthz: its status and body, 503 included."""
        url = f"http://127.0.0.1:{self.server.port}/healthz"
        try:
            with urllib.request.urlopen(url, timeout=10) as response:
                return response.status, json.load(response)
        except urllib.error.HTTPError as error:
            return error.code, json.load(error)

    def unhealthy(self) -> dict[str, Any] | None:
        """The body of /healthz if it answers 503, else None (for `wait_until`)."""
        status, body = self.healthz()
        return body if status == 503 else None


def start_bot(
    slack: EmulatorThread,
    database_url: URL,
    *,
    catalog: Path = EXAMPLE_CATALOG,
    language: str = "en",
    clock: MovableClock | None = None,
    socket_mode: bool = False,
    paced: bool = False,
    probes: bool = False,
    sweep_seconds: float = 15.0,
    instance_id: str | None = None,
    poll_interval: float = 1.0,
) -> tuple[RunningBot, LoopThread]:
    """Start the bot; unless `paced`, the emulator's rate limit is off and the sender does not
    wait a second between posts (pacing has its own tests), so flows run fast. The probe engine
    runs only with `probes` (the example catalog probes 127.0.0.1: alerts would be noise).
    `poll_interval` is the sender's idle wait between reads of the outbox (unless `paced`)."""
    clock = clock or MovableClock()
    settings = Settings(
        SUPPORTBOT_DATABASE_URL=database_url.render_as_string(hide_password=False),
        SUPPORTBOT_CATALOG=catalog,
        SUPPORTBOT_LANGUAGE=language,
        SUPPORTBOT_PORT=0,
        SUPPORTBOT_SWEEP_SECONDS=sweep_seconds,
        SUPPORTBOT_INSTANCE_ID=instance_id,
    )
    runtime = build_runtime(settings, clock=clock)
    app_token = slack.app_token if socket_mode else None
    credentials = SlackCredentials(slack.bot_token, slack.signing_secret, app_token, slack.api_url)
    loop = LoopThread("bot")
    loop.start()
    config = None
    if not paced:
        slack.rate_limit = False
        config = SenderConfig(
            channel_interval=0.01,
            poll_interval=poll_interval,
            alerts_channel=runtime.catalog.team.alerts_channel,
        )
    server = BotServer(runtime, credentials, sender_config=config, probes=probes)
    loop.run(server.start(), 10)
    slack.bot_url = f"http://127.0.0.1:{server.port}/slack/events"
    slack.add_channel(ALERTS, name="alerts")
    for user in (TECH, TECH2, OUTSIDER):
        slack.add_user(user)
    return RunningBot(server, runtime, clock, slack), loop


def stop_bot(running: RunningBot, loop: LoopThread) -> None:
    try:
        loop.run(running.server.stop(), 10)
    finally:
        loop.stop()
        running.runtime.engine.dispose()


@pytest.fixture
def bot(slack: EmulatorThread, database_url: URL) -> Iterator[RunningBot]:
    """The bot (English messages) serving the emulator over HTTP, on SQLite and PostgreSQL."""
    running, loop = start_bot(slack, database_url)
    yield running
    stop_bot(running, loop)


@pytest.fixture
def french_bot(slack: EmulatorThread, database_url: URL) -> Iterator[RunningBot]:
    """The bot as the team runs it: in French."""
    running, loop = start_bot(slack, database_url, language="fr")
    yield running
    stop_bot(running, loop)


def server_down(bot: RunningBot, server_id: str, now: datetime) -> int:
    """An outage of `server_id` that started 5 minutes before `now`, confirmed 4 minutes
    before: its id (for a click on its root or its Open intervention modal)."""
    with bot.sessions.begin() as session:
        return add_outage(
            session,
            server_id,
            started_at=now - timedelta(minutes=5),
            confirmed_at=now - timedelta(minutes=4),
        ).id
