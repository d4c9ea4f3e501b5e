"""The bot as Slack sees it: signed requests over HTTP and Socket Mode, /healthz."""

import asyncio
import json
import logging
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from urllib.parse import urlencode

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.engine import URL

from bot import app
from bot.app import BotServer, SlackCredentials, build_runtime
from bot.config import Settings
from bot.errors import ListenError, SlackRefusedError
from bot.jobs import PRUNE_ROLLUPS_JOB
from bot.sandbox import BotReply, EmulatorThread, LoopThread
from bot.services.leader import SCHEDULER_LEASE
from bot.storage.database import make_engine, reading
from bot.storage.leases import get_lease
from bot.storage.models import Ticket
from tests.plugins.bot import ALERTS, EXAMPLE_CATALOG, TECH, RunningBot, start_bot, stop_bot
from tests.plugins.db import PostgresDatabases


def test_a_signed_slash_command_gets_the_help_over_http(bot: RunningBot) -> None:
    """`/intervention help` answers with the command's usage."""
    reply = bot.command("help")
    assert "/intervention" in reply
    assert "claim &lt;ticket&gt;" in reply


def test_sla_help_answers_with_its_usage(bot: RunningBot) -> None:
    """`/sla help` lists the /sla subcommands."""
    assert "status [&lt;client&gt;|&lt;server&gt;|&lt;ticket&gt;]" in bot.command(
        "help", command="/sla"
    )


def test_a_forged_signature_is_refused_with_401(bot: RunningBot) -> None:
    """A request not signed with the signing secret never reaches a listener."""
    reply = bot.slack.send_slash_command(
        "/intervention", "help", user_id=TECH, channel_id=ALERTS, forge_signature=True
    )
    assert reply.status == 401


@pytest.mark.parametrize("stamp", ["", "soon", "²"], ids=["empty", "word", "superscript"])
def test_a_request_without_a_timestamp_is_refused_with_401_not_500(
    bot: RunningBot, stamp: str
) -> None:
    """Bolt read the timestamp as a number to check the signature and failed on any other
    with a 500 and an ERROR traceback: anyone could fill the logs with them."""
    body = urlencode({"command": "/intervention", "text": "help", "user_id": TECH})
    headers = {"X-Slack-Signature": "v0=00", "X-Slack-Request-Timestamp": stamp}
    assert bot.slack.send_http(body, headers=headers).status == 401


def test_healthz_reports_database_scheduler_and_outbox(bot: RunningBot) -> None:
    """GET /healthz is 200 with the database and scheduler up, and shows the outbox."""
    with urllib.request.urlopen(f"http://127.0.0.1:{bot.server.port}/healthz") as response:
        assert response.status == 200
        body = json.load(response)
    assert body["status"] == "ok"
    assert body["database"]["ok"] is True
    assert body["scheduler"]["running"] is True
    assert body["outbox"] == {"pending": 0, "failed": 0, "oldest_pending_age_s": None}


def test_a_slash_command_reaches_the_bot_over_socket_mode(
    slack: EmulatorThread, database_url: URL
) -> None:
    """With an app token the bot connects over Socket Mode and answers envelopes there."""
    running, loop = start_bot(slack, database_url, socket_mode=True)
    try:
        slack.wait_for_socket()
        assert_answers_over_socket(slack)
    finally:
        stop_bot(running, loop)


def test_a_socket_mode_connection_gone_silent_is_replaced(
    slack: EmulatorThread, database_url: URL
) -> None:
    """A network cut that closes nothing (packets lost both ways): the bot's pings go
    unanswered, it opens a new connection, and the next command is answered over it. How soon
    is measured by bench/bench_socket_mode.py, not here."""
    running, loop = start_bot(slack, database_url, socket_mode=True)
    try:
        slack.wait_for_socket()
        slack.silence_sockets()
        assert slack.socket_connections == 0
        slack.wait_until(lambda: len(slack.calls_to("apps.connections.open")) == 2, timeout_s=60)
        slack.wait_for_socket()
        assert_answers_over_socket(slack)
    finally:
        stop_bot(running, loop)


def test_a_slow_but_alive_socket_mode_connection_is_kept(
    slack: EmulatorThread, database_url: URL
) -> None:
    """Slack answers the bot's pings a second late (a congested link): the connection works,
    so the bot keeps it through several pings instead of reconnecting each time (a ping
    interval tuned too short would drop it: commands sent meanwhile would fail)."""
    running, loop = start_bot(slack, database_url, socket_mode=True)
    try:
        slack.wait_for_socket()
        slack.delay_pongs(1.0)
        pings = slack.socket_pings
        slack.wait_until(lambda: slack.socket_pings >= pings + 4, timeout_s=60)
        assert len(slack.calls_to("apps.connections.open")) == 1
        assert slack.socket_connections == 1
    finally:
        stop_bot(running, loop)


def test_healthz_is_503_while_the_socket_mode_connection_is_down(
    slack: EmulatorThread, database_url: URL
) -> None:
    """Over Socket Mode no command reaches a bot without its connection: Slack disabled the
    link and refuses a new one, and /healthz says so instead of "ok"."""
    running, loop = start_bot(slack, database_url, socket_mode=True)
    try:
        slack.wait_for_socket()
        status, body = running.healthz()
        assert (status, body["socket_mode"]) == (200, {"connected": True})
        slack.inject_error("apps.connections.open", "invalid_auth", times=None)
        slack.disconnect_sockets("link_disabled", close_after_s=0.2)
        body = slack.wait_until(running.unhealthy, timeout_s=15)
        assert (body["status"], body["socket_mode"]) == ("unhealthy", {"connected": False})
    finally:
        slack.clear_faults()
        stop_bot(running, loop)


@pytest.mark.postgres
def test_a_stop_lets_a_command_in_flight_over_socket_mode_be_acked(
    slack: EmulatorThread, postgres: PostgresDatabases, postgres_template: str
) -> None:
    """SIGTERM while a command is being carried out over Socket Mode: the connection stays
    open until its ack is sent, so the technician is not told it failed while it was done."""
    url = postgres.create(template=postgres_template)
    running, loop = start_bot(slack, url, socket_mode=True)
    slack.wait_for_socket()
    pool = ThreadPoolExecutor(1)
    try:
        with _command_in_flight(slack, postgres, url) as reply:
            stopping = pool.submit(stop_bot, running, loop)
            deadline = time.monotonic() + 2  # the stop goes as far as it may meanwhile
            while slack.socket_connections and time.monotonic() < deadline:
                time.sleep(0.02)
        assert "INT-1 registered" in reply.result(20).text
        stopping.result(20)
    finally:
        pool.shutdown()
        postgres.drop(url)


@pytest.mark.parametrize("via", ["http", "socket"])
def test_unknown_subcommands_get_a_usage_message(
    slack: EmulatorThread, database_url: URL, via: str
) -> None:
    """Anything but a known subcommand is answered with what was wrong, never a crash."""
    running, loop = start_bot(slack, database_url, socket_mode=via == "socket")
    try:
        if via == "socket":
            slack.wait_for_socket()
        reply = slack.send_slash_command(
            "/intervention", "frobnicate <!channel>", user_id=TECH, channel_id=ALERTS, via=via
        )
        assert "frobnicate" in reply.text
        assert "<!channel>" not in reply.text
    finally:
        stop_bot(running, loop)


def test_a_port_already_taken_fails_the_start_and_leaves_the_lease_free(
    slack: EmulatorThread, database_url: URL
) -> None:
    """The instance campaigns before it listens; when it cannot listen, stopping it gives up the
    lease it had won, so another instance leads at once instead of after the lease's ttl."""
    settings = Settings(
        SUPPORTBOT_DATABASE_URL=database_url.render_as_string(hide_password=False),
        SUPPORTBOT_CATALOG=EXAMPLE_CATALOG,
    )
    runtime = build_runtime(settings)
    credentials = SlackCredentials(slack.bot_token, slack.signing_secret, None, slack.api_url)
    loop = LoopThread("bot")
    loop.start()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        server = BotServer(runtime, credentials, port=taken.getsockname()[1], probes=False)
        try:
            with pytest.raises(ListenError, match="another program listens on that port"):
                loop.run(server.start(), 10)
            assert server.leadership.is_leader  # it had won the lease
        finally:
            loop.run(server.stop(), 10)
            loop.stop()
    try:
        assert not server.leadership.is_leader
        with reading(runtime.sessions) as session:
            assert get_lease(session, SCHEDULER_LEASE) is None
    finally:
        runtime.engine.dispose()


def _socket_mode_server(
    slack: EmulatorThread, database_url: URL, app_token: str, *, signing_secret: str | None = None
) -> tuple[BotServer, LoopThread]:
    settings = Settings(
        SUPPORTBOT_DATABASE_URL=database_url.render_as_string(hide_password=False),
        SUPPORTBOT_CATALOG=EXAMPLE_CATALOG,
    )
    runtime = build_runtime(settings)
    secret = slack.signing_secret if signing_secret is None else signing_secret
    credentials = SlackCredentials(slack.bot_token, secret, app_token, slack.api_url)
    loop = LoopThread("bot")
    loop.start()
    return BotServer(runtime, credentials, probes=False), loop


def _stop_server(server: BotServer, loop: LoopThread) -> None:
    try:
        loop.run(server.stop(), 10)
    finally:
        loop.stop()
        server.runtime.engine.dispose()


@pytest.mark.parametrize(
    ("which", "error"), [("mistyped", "invalid_auth"), ("bot token", "not_allowed_token_type")]
)
def test_an_app_token_slack_refuses_fails_the_start_saying_so(
    slack: EmulatorThread, database_url: URL, which: str, error: str
) -> None:
    """A mistyped SLACK_APP_TOKEN (or the bot's token in its place): the start never ended,
    retrying every 10 s with a traceback, and ignored SIGTERM, while the leader's probes and
    outbox ran and no command was ever received."""
    token = "xapp-1-A0SUPPORTBOT-mistyped" if which == "mistyped" else slack.bot_token
    server, loop = _socket_mode_server(slack, database_url, token)
    try:
        started = time.monotonic()
        with pytest.raises(SlackRefusedError, match=f"SLACK_APP_TOKEN \\({error}\\)"):
            loop.run(server.start(), 10)
        assert time.monotonic() - started < 5
        assert len(slack.calls_to("apps.connections.open")) == 1
    finally:
        _stop_server(server, loop)


def test_socket_mode_asks_again_when_slack_is_busy_at_start(
    slack: EmulatorThread, database_url: URL
) -> None:
    """A 503, then rate limited: apps.connections.open is asked again after a wait, and the bot
    connects and answers."""
    slack.inject_error("apps.connections.open", "ratelimited")
    slack.inject_http_status(503, methods="apps.connections.open")
    server, loop = _socket_mode_server(slack, database_url, slack.app_token)
    try:
        loop.run(server.start(), 15)
        assert [c.error for c in slack.calls_to("apps.connections.open")] == [
            "internal_error",
            "ratelimited",
            None,
        ]
        slack.wait_for_socket()
        slack.add_channel(ALERTS, name="alerts")
        slack.add_user(TECH)
        assert_answers_over_socket(slack)
    finally:
        _stop_server(server, loop)


def test_a_stop_while_slack_refuses_socket_mode_connections_is_not_ignored(
    slack: EmulatorThread, database_url: URL
) -> None:
    """Slack answering internal_error at every apps.connections.open: SIGTERM (the stop event)
    still ends the start, instead of a process that only SIGKILL ends."""
    slack.inject_error("apps.connections.open", "internal_error", times=None)
    server, loop = _socket_mode_server(slack, database_url, slack.app_token)
    stop = asyncio.Event()
    try:
        starting = asyncio.run_coroutine_threadsafe(server.start(stop), loop.loop)
        deadline = time.monotonic() + 10
        while not slack.calls_to("apps.connections.open"):
            assert time.monotonic() < deadline, "the bot never asked for a Socket Mode URL"
            time.sleep(0.02)
        loop.loop.call_soon_threadsafe(stop.set)
        starting.result(5)
        assert slack.socket_connections == 0
    finally:
        _stop_server(server, loop)


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("application/json", b"not json"),
        ("application/json", b"[1, 2]"),
        ("application/x-www-form-urlencoded", b"text=caf\xe9"),
        ("application/x-www-form-urlencoded", b"payload=not+json"),
        ("application/x-www-form-urlencoded; charset=klingon", b"text=help"),
    ],
    ids=["bad json", "json list", "latin-1", "payload not json", "unknown charset"],
)
def test_a_body_bolt_cannot_read_is_refused_with_400_and_no_traceback(
    bot: RunningBot, content_type: str, body: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    """Slack never sends these, but anyone reaching /slack/events may: each was a 500 and an
    ERROR traceback in the logs, before the signature was even checked."""
    request = urllib.request.Request(
        f"http://127.0.0.1:{bot.server.port}/slack/events",
        data=body,
        headers={"Content-Type": content_type},
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10)  # noqa: S310  # http:// above
    assert refused.value.code == 400
    assert json.load(refused.value) == {"error": "invalid request body"}
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


def test_slack_checks_get_what_slack_expects(bot: RunningBot) -> None:
    """The url_verification challenge is echoed, ssl_check answered 200, a GET refused."""
    challenge = json.dumps({"type": "url_verification", "challenge": "c4ll3ng3", "token": "x"})
    reply = bot.slack.send_http(challenge, "application/json")
    assert (reply.status, json.loads(reply.text)) == (200, {"challenge": "c4ll3ng3"})
    assert bot.slack.send_http("ssl_check=1&token=x").status == 200
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(f"http://127.0.0.1:{bot.server.port}/slack/events", timeout=10)
    assert refused.value.code == 405


def test_a_websocket_that_does_not_open_at_start_is_tried_again_with_a_new_url(
    slack: EmulatorThread, database_url: URL, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The WebSocket refused (a proxy refusing the upgrade): the SDK tried the same one-use URL
    every 10 s forever. After a while the bot asks for a new URL, and connects."""
    monkeypatch.setattr(app, "SOCKET_MODE_CONNECT_TIMEOUT", 1.0)
    slack.refuse_sockets(1)
    server, loop = _socket_mode_server(slack, database_url, slack.app_token)
    try:
        loop.run(server.start(), 10)
        slack.wait_for_socket()
        assert len(slack.calls_to("apps.connections.open")) == 2
    finally:
        _stop_server(server, loop)


def test_a_stop_while_the_websocket_does_not_open_at_start_is_not_ignored(
    slack: EmulatorThread, database_url: URL
) -> None:
    """Every WebSocket handshake refused: SIGTERM (the stop event) ends the start."""
    slack.refuse_sockets(None)
    server, loop = _socket_mode_server(slack, database_url, slack.app_token)
    stop = asyncio.Event()
    try:
        starting = asyncio.run_coroutine_threadsafe(server.start(stop), loop.loop)
        slack.wait_until(lambda: slack.calls_to("apps.connections.open") or None)
        time.sleep(0.5)  # the handshake refused, the SDK waiting to try it again
        loop.loop.call_soon_threadsafe(stop.set)
        starting.result(5)
        assert slack.socket_connections == 0
    finally:
        _stop_server(server, loop)


@contextmanager
def _command_in_flight(
    slack: EmulatorThread, postgres: PostgresDatabases, url: URL
) -> Iterator[Future[BotReply]]:
    """`/intervention open` sent over Socket Mode, held by a lock on the tickets inside the
    block (the command is being carried out), which then commits it."""
    engine = make_engine(url)
    pool = ThreadPoolExecutor(1)
    try:
        with engine.connect() as holder, postgres.admin.connect() as admin:
            holder.execute(text("LOCK TABLE tickets IN ACCESS EXCLUSIVE MODE"))
            reply = pool.submit(
                slack.send_slash_command,
                "/intervention",
                "open acme-web-01 secours down",
                user_id=TECH,
                channel_id=ALERTS,
                via="socket",
            )
            waiting = "SELECT count(*) FROM pg_stat_activity WHERE datname = :db"
            waiting += " AND wait_event_type = 'Lock'"
            deadline = time.monotonic() + 10
            while not admin.execute(text(waiting), {"db": url.database}).scalar_one():
                assert time.monotonic() < deadline, "the command never reached the database"
                time.sleep(0.02)
            yield reply
            holder.rollback()  # the command goes on, and commits
    finally:
        pool.shutdown()
        engine.dispose()


@pytest.mark.postgres
def test_a_command_in_flight_when_slack_refreshes_the_connection_is_acked_once(
    slack: EmulatorThread, postgres: PostgresDatabases, postgres_template: str
) -> None:
    """Slack's `disconnect` (refresh_requested), the old connection closed half a second later,
    while a command is being carried out: the bot reconnects, the command is done once and its
    ack reaches Slack; the next command is answered over the new connection."""
    url = postgres.create(template=postgres_template)
    running, loop = start_bot(slack, url, socket_mode=True)
    try:
        slack.wait_for_socket()
        with _command_in_flight(slack, postgres, url) as reply:
            slack.disconnect_sockets("refresh_requested", close_after_s=0.5)
            slack.wait_until(lambda: len(slack.calls_to("apps.connections.open")) == 2 or None)
        assert "INT-1 registered" in reply.result(10).text
        assert len(slack.socket_acks) == 1
        with running.sessions() as session:
            assert session.scalar(select(func.count()).select_from(Ticket)) == 1
        time.sleep(0.6)  # the old connection is closed by now
        slack.wait_for_socket()
        again = slack.send_slash_command(
            "/intervention", "show 1", user_id=TECH, channel_id=ALERTS, via="socket"
        )
        assert "INT-1" in again.text
        assert not again.late
        assert not slack.responses()  # the acks reached Slack: no reply twice
    finally:
        stop_bot(running, loop)
        postgres.drop(url)


@pytest.mark.postgres
def test_a_command_whose_ack_was_lost_with_its_connection_is_answered_on_its_response_url(
    slack: EmulatorThread, postgres: PostgresDatabases, postgres_template: str
) -> None:
    """The connection cut (no close frame) while a command is carried out: its ack cannot be
    sent, so Slack tells the technician the command failed while INT-1 was registered; they
    typed it again, and got a second ticket. The reply now reaches them on the response_url."""
    url = postgres.create(template=postgres_template)
    running, loop = start_bot(slack, url, socket_mode=True)
    slack.emulator.timeout_s = 3.0  # Slack's wait for an ack
    try:
        slack.wait_for_socket()
        with _command_in_flight(slack, postgres, url) as reply:
            slack.drop_sockets()
        with pytest.raises(TimeoutError, match="did not ack"):
            reply.result(10)
        (response,) = slack.wait_until(lambda: slack.responses() or None, timeout_s=10)
        assert response.text.startswith("INT-1 registered")
        assert response.origin == "slash_command"
        assert not slack.socket_acks
        with running.sessions() as session:
            assert session.scalar(select(func.count()).select_from(Ticket)) == 1
    finally:
        stop_bot(running, loop)
        postgres.drop(url)


@pytest.mark.postgres
def test_a_command_acked_into_a_connection_gone_silent_is_answered_on_its_response_url(
    slack: EmulatorThread, postgres: PostgresDatabases, postgres_template: str
) -> None:
    """The connection gone silent (a cut that loses packets) while a command is carried out:
    its ack is written without error and never reaches Slack, which tells the technician the
    command failed while INT-1 was registered. With no pong after it, the reply goes to the
    response_url once the connection is given up; an ack a pong follows goes nowhere else."""
    url = postgres.create(template=postgres_template)
    running, loop = start_bot(slack, url, socket_mode=True)
    slack.emulator.timeout_s = 3.0  # Slack's wait for an ack
    try:
        slack.wait_for_socket()
        with _command_in_flight(slack, postgres, url) as reply:
            slack.silence_sockets()
        with pytest.raises(TimeoutError, match="did not ack"):
            reply.result(10)
        (response,) = slack.wait_until(lambda: slack.responses() or None, timeout_s=20)
        assert response.text.startswith("INT-1 registered")
        slack.wait_for_socket(20)
        again = slack.send_slash_command(
            "/intervention", "show 1", user_id=TECH, channel_id=ALERTS, via="socket"
        )
        assert "INT-1" in again.text
        pings = slack.socket_pings
        slack.wait_until(lambda: slack.socket_pings >= pings + 2 or None, timeout_s=20)
        assert len(slack.responses()) == 1
    finally:
        stop_bot(running, loop)
        postgres.drop(url)


def test_socket_mode_without_a_signing_secret_serves_no_slack_requests_over_http(
    slack: EmulatorThread, database_url: URL, caplog: pytest.LogCaptureFixture
) -> None:
    """SLACK_SIGNING_SECRET is for HTTP mode only; without it, any POST to /slack/events (a
    scanner's) was a 500 and an ERROR traceback: Bolt cannot verify with an empty secret. The
    path is not served then (404); /healthz still is."""
    server, loop = _socket_mode_server(slack, database_url, slack.app_token, signing_secret="")
    try:
        loop.run(server.start(), 10)
        slack.wait_for_socket()
        request = urllib.request.Request(
            f"http://127.0.0.1:{server.port}/slack/events",
            data=b"command=%2Fsla&text=help",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=10)  # noqa: S310  # http:// above
        assert refused.value.code == 404
        assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
        with urllib.request.urlopen(f"http://127.0.0.1:{server.port}/healthz") as response:
            assert response.status == 200
        slack.add_channel(ALERTS, name="alerts")
        slack.add_user(TECH)
        reply = slack.send_slash_command(
            "/sla", "help", user_id=TECH, channel_id=ALERTS, via="socket"
        )
        assert "`/sla`" in reply.text  # its help, in the default language
    finally:
        _stop_server(server, loop)


def test_the_probe_history_is_pruned_only_when_its_retention_is_set(
    slack: EmulatorThread, database_url: URL, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Unset, every hourly rollup is kept (the reports' evidence); set, a job prunes them."""
    running, loop = start_bot(slack, database_url)
    try:
        assert running.server.scheduler.get_job(PRUNE_ROLLUPS_JOB) is None
    finally:
        stop_bot(running, loop)
    monkeypatch.setenv("SUPPORTBOT_PROBE_HISTORY_DAYS", "400")
    running, loop = start_bot(slack, database_url)
    try:
        job = running.server.scheduler.get_job(PRUNE_ROLLUPS_JOB)
        assert job is not None
        assert job.name == "probe history pruning"
    finally:
        stop_bot(running, loop)


def assert_answers_over_socket(slack: EmulatorThread) -> None:
    """A slash command sent over the Socket Mode connection gets its answer there."""
    reply = slack.send_slash_command(
        "/intervention", "help", user_id=TECH, channel_id=ALERTS, via="socket"
    )
    assert "claim &lt;ticket&gt;" in reply.text


@pytest.mark.postgres
def test_a_report_that_follows_a_lost_ack_still_reaches_the_technician(
    slack: EmulatorThread, postgres: PostgresDatabases, postgres_template: str
) -> None:
    """`/sla report` slow to build (the tickets locked a moment): its ack says it will follow,
    and the connection is cut before that ack is written. The ack's reply goes to the
    response_url, and so does the report once built: the report is not dropped for having
    the same key as the ack's reply, queued first."""
    url = postgres.create(template=postgres_template)
    running, loop = start_bot(slack, url, socket_mode=True)
    slack.emulator.timeout_s = 3.0  # Slack's wait for an ack
    engine = make_engine(url)
    pool = ThreadPoolExecutor(1)
    try:
        slack.wait_for_socket()
        with engine.connect() as holder, postgres.admin.connect() as admin:
            holder.execute(text("LOCK TABLE tickets IN ACCESS EXCLUSIVE MODE"))
            reply = pool.submit(
                slack.send_slash_command,
                "/sla",
                "report",
                user_id=TECH,
                channel_id=ALERTS,
                via="socket",
            )
            waiting = "SELECT count(*) FROM pg_stat_activity WHERE datname = :db"
            waiting += " AND wait_event_type = 'Lock'"
            deadline = time.monotonic() + 10
            while not admin.execute(text(waiting), {"db": url.database}).scalar_one():
                assert time.monotonic() < deadline, "the command never reached the database"
                time.sleep(0.02)
            slack.drop_sockets()
            with pytest.raises(TimeoutError, match="did not ack"):
                reply.result(10)
            slack.wait_until(lambda: slack.responses() or None, timeout_s=10)
            holder.rollback()  # the report is built, and follows
        texts = slack.wait_until(
            lambda: [r.text for r in slack.responses()] if len(slack.responses()) >= 2 else None,
            timeout_s=20,
        )
        assert texts[0].startswith("The report takes a while to build")
        assert not texts[1].startswith("The report takes a while")  # the report itself
    finally:
        pool.shutdown()
        engine.dispose()
        stop_bot(running, loop)
        postgres.drop(url)
