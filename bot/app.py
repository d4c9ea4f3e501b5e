"""Composition root: Settings -> engine -> services -> Bolt app + scheduler + HTTP server.

The only module (with `__main__`) that reads the real clock and the environment.
"""

import asyncio
import contextlib
import functools
import gc
import json
import logging
import os
import secrets
import signal
import socket
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import aiohttp
from aiohttp import web
from aiohttp.typedefs import Handler
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.schedulers.base import STATE_RUNNING
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.adapter.socket_mode.async_internals import (
    run_async_bolt_app,
    send_async_response,
)
from slack_bolt.async_app import AsyncApp
from slack_bolt.logger.messages import warning_client_prioritized_and_token_skipped
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.errors import SlackApiError
from slack_sdk.socket_mode.aiohttp import SocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from bot.config import Catalog, CatalogError, Settings, load_catalog
from bot.errors import ListenError, SlackRefusedError
from bot.handlers import actions, commands, dedupe
from bot.handlers import alerts as alert_handlers
from bot.handlers.access import Authorizer
from bot.handlers.budget import ACK_BUDGET_SECONDS, background_done
from bot.handlers.context import HandlerContext
from bot.health import HealthReport
from bot.jobs import SWEEP_JOB, run_soon, schedule_jobs
from bot.messages import Messages
from bot.outbox.doorbell import doorbell_for
from bot.outbox.sender import OutboxSender, SenderConfig
from bot.probes.engine import ProbeEngine
from bot.sandbox import SlackEmulator, local_state
from bot.sandbox.console import Console, add_team, run_console
from bot.services.alerts import AlertService
from bot.services.credits import CreditService
from bot.services.leader import Leadership
from bot.services.reminders import ReminderService
from bot.services.reports import ReportService
from bot.services.tickets import ROOT_RENDERER, TicketService
from bot.slack.api import SlackApi
from bot.slack.socket_acks import LostAck, UnconfirmedAcks
from bot.storage import database, outbox
from bot.storage import threads as database_threads
from bot.storage.catalog_sync import sync_catalog
from bot.storage.database import (
    DatabaseUnavailableError,
    describe,
    make_sessionmaker,
    migrate_at_start,
    open_database,
    ping,
    reading,
)
from bot.storage.models import OutboxOperation
from bot.storage.outbox import Outbound
from bot.storage.threads import in_database_thread

logger = logging.getLogger("supportbot")

PROBES_RETRY = 1.0  # seconds before restarting a probe engine that failed; doubled, up to:
MAX_PROBES_RETRY = 30.0
SLACK_PATH = "/slack/events"  # where Slack POSTs in HTTP mode
SOCKET_MODE_DRAIN = 10.0  # seconds a stop waits for the Socket Mode envelopes being answered
BACKGROUND_DRAIN = 10.0  # seconds a stop waits for clicks acked and still being carried out
SOCKET_MODE_RETRY = 1.0  # seconds before asking apps.connections.open again; doubled, up to:
MAX_SOCKET_MODE_RETRY = 60.0
# Bolt pings Slack every SOCKET_MODE_PING_INTERVAL seconds of silence and drops a connection
# whose pong is later than half of it; its watch notices a closed connection and reconnects at
# its next tick, as often. Bolt's 10 s took 6 s to replace a reset connection and 16 s a silent
# one, commands failing meanwhile; 3 s replaces them in 1-3 s and 4-6 s and still lets a slow
# link answer 1.5 s late (bench/bench_socket_mode.py). Lower, a pong 1 s late would flap.
SOCKET_MODE_PING_INTERVAL = 3.0
HEALTH_DEADLINE = ACK_BUDGET_SECONDS  # seconds /healthz waits for the database's answer
SOCKET_MODE_CONNECT_TIMEOUT = 15.0  # seconds the first WebSocket has to open, the SDK retrying
# apps.connections.open's answers that a later call may not repeat; any other refuses the token.
SOCKET_MODE_TRANSIENT = frozenset(
    {"ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"}
)

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    """The real clock; everything else receives it as a parameter."""
    return datetime.now(UTC)


@dataclass(frozen=True)
class SlackCredentials:
    bot_token: str
    signing_secret: str
    app_token: str | None
    api_url: str


@dataclass
class Runtime:
    """Everything built once at start and passed down."""

    settings: Settings
    catalog: Catalog
    engine: Engine
    sessions: sessionmaker[Session]
    messages: Messages
    clock: Clock
    instance: str


def build_runtime(
    settings: Settings, *, clock: Clock = utc_now, mirrored: Catalog | None = None
) -> Runtime:
    """Load the catalog, open and migrate the database, mirror the catalog into it; raise
    CatalogError or DatabaseUnavailableError, which say what is wrong. A worker gets the
    catalog its supervisor loaded and mirrored (`mirrored`), and only opens the database: the
    catalog file may have been edited since, for the next restart of the whole bot."""
    if mirrored is not None:
        engine = open_database(settings.database_url.get_secret_value())
        return _runtime(settings, mirrored, engine, make_sessionmaker(engine), clock)
    source = settings.catalog_path(Path.cwd())
    catalog = load_catalog(source)  # before the database: a bad one makes no empty database
    engine = open_database(settings.database_url.get_secret_value())
    sessions = make_sessionmaker(engine)
    try:
        migrate_at_start(engine)
        with sessions.begin() as session:
            report = sync_catalog(session, catalog, now=clock())
    except CatalogError as error:  # named by its file, as check-config and report name it
        engine.dispose()
        raise CatalogError(str(source), error.problems) from None
    except DatabaseUnavailableError:
        engine.dispose()
        raise
    for change in (*report.added, *report.restored):
        logger.info("catalog: %s", change)
    for change in report.removed:
        logger.warning("catalog: %s removed (kept as history)", change)
    for change in report.moved:
        logger.warning("catalog: %s (reports before now keep it under the first)", change)
    for change in report.changed:
        logger.warning("catalog: %s (from now on; months before keep their terms)", change)
    return _runtime(settings, catalog, engine, sessions, clock)


def _runtime(
    settings: Settings,
    catalog: Catalog,
    engine: Engine,
    sessions: sessionmaker[Session],
    clock: Clock,
) -> Runtime:
    instance = settings.instance_id or f"{socket.gethostname()}:{os.getpid()}"
    return Runtime(
        settings, catalog, engine, sessions, Messages(settings.language), clock, instance
    )


@dataclass(frozen=True)
class Services:
    """The use cases, built once; `wake` (the outbox sender's) is called after their commits."""

    tickets: TicketService
    alerts: AlertService
    reports: ReportService
    credits: CreditService
    reminders: ReminderService


def build_services(
    runtime: Runtime, *, wake: Callable[[], None], sweep_every: timedelta
) -> Services:
    common = (runtime.sessions, runtime.catalog, runtime.messages)
    tickets = TicketService(*common, clock=runtime.clock, wake=wake)
    alerts = AlertService(
        tickets, runtime.sessions, runtime.messages, clock=runtime.clock, wake=wake
    )
    tickets.watch_maintenance(alerts.refresh_server)
    return Services(
        tickets=tickets,
        alerts=alerts,
        reports=ReportService(*common, clock=runtime.clock, wake=wake),
        credits=CreditService(*common, clock=runtime.clock, wake=wake),
        reminders=ReminderService(*common, clock=runtime.clock, wake=wake, late_after=sweep_every),
    )


class _SameTokenWarning(logging.Filter):
    """Drops Bolt's "`token` will be unused" warning: Bolt reads SLACK_BOT_TOKEN from the
    environment and warns that a given client wins, but the client holds that very token."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() != warning_client_prioritized_and_token_skipped()


logging.getLogger(f"slack_bolt.{AsyncApp.__name__}").addFilter(_SameTokenWarning())  # Bolt's name


def build_bolt_app(
    runtime: Runtime,
    credentials: SlackCredentials,
    services: Services,
    *,
    wake: Callable[[], None],
) -> AsyncApp:
    """The Bolt app with every listener registered."""
    client = AsyncWebClient(token=credentials.bot_token, base_url=credentials.api_url)
    app = AsyncApp(
        name="supportbot",  # unnamed, Bolt reads the caller's file name with inspect.stack(): 0.2 s
        client=client,
        signing_secret=credentials.signing_secret,
        # Listeners commit state before they ack; Slack's 3 s budget is the limit they keep.
        process_before_response=True,
    )
    dedupe.register(app, runtime.sessions, runtime.clock)
    context = HandlerContext(
        tickets=services.tickets,
        alerts=services.alerts,
        reports=services.reports,
        credits=services.credits,
        authorizer=Authorizer(runtime.catalog.team, client),
        messages=runtime.messages,
        sessions=runtime.sessions,
        clock=runtime.clock,
        wake=wake,
    )
    commands.register(app, context)
    actions.register(app, context)
    alert_handlers.register(app, context)
    return app


def health_report(
    runtime: Runtime,
    scheduler: AsyncIOScheduler,
    leadership: Leadership | None = None,
    *,
    probes_error: str | None = None,
) -> HealthReport:
    # Paused is how a follower's scheduler waits: running means running jobs, i.e. leading.
    running = scheduler.state == STATE_RUNNING
    leader = leadership is None or leadership.is_leader
    try:
        ping(runtime.engine)
        with reading(runtime.sessions) as session:
            stats = outbox.get_stats(session, now=runtime.clock())
        holder = leadership.current_leader() if leadership is not None else runtime.instance
    except Exception as error:  # reported, not raised: this is what /healthz is for
        name = type(error).__name__
        return unhealthy_database(runtime, scheduler, leadership, name, probes_error=probes_error)
    # It reads; the work of the database threads may be waiting for the write lock, or failing
    # to get it: at work for the lock wait with no commit in this process meanwhile (the lease
    # is renewed every 5 s), nothing can write, a command no more than they.
    waited = database_threads.waiting_for_database()
    if waited >= database.LOCK_WAIT_SECONDS:
        logger.warning(
            "health check: the database threads have been at work for %.0f s and nothing"
            " could commit meanwhile: the database is locked or stuck",
            waited,
        )
        return unhealthy_database(
            runtime, scheduler, leadership, "Stalled", probes_error=probes_error
        )
    return HealthReport(
        True,
        running,
        runtime.instance,
        details={"outbox": stats.to_json()},
        leader=leader,
        leader_instance=holder,
        probes_error=probes_error,
    )


def unhealthy_database(
    runtime: Runtime,
    scheduler: AsyncIOScheduler,
    leadership: Leadership | None,
    error_name: str,
    *,
    probes_error: str | None,
) -> HealthReport:
    """The report when the database did not answer (`error_name`: why, with no text)."""
    logger.warning("health check: database unavailable: %s", error_name)
    return HealthReport(
        False,
        scheduler.state == STATE_RUNNING,
        runtime.instance,
        error_name,
        leader=leadership is None or leadership.is_leader,
        probes_error=probes_error,
    )


def build_web_app(
    runtime: Runtime, bolt: AsyncApp, scheduler: AsyncIOScheduler, server: "BotServer"
) -> web.Application:
    """aiohttp app: Bolt at /slack/events (HTTP mode) and GET /healthz. In Socket Mode
    without a signing secret, Slack sends nothing over HTTP and Bolt could verify nothing: it
    failed every POST there with a 500 and an ERROR traceback; the path is not served then."""
    web_app = web.Application()
    if server.credentials.signing_secret:
        web_app.router.add_post(SLACK_PATH, slack_events(bolt))

    @web.middleware
    async def count_in_flight(request: web.Request, handler: Handler) -> web.StreamResponse:
        server.requests_in_flight += 1
        server.quiet.clear()
        try:
            return await handler(request)
        finally:
            server.requests_in_flight -= 1
            if server.requests_in_flight == 0:
                server.quiet.set()

    web_app.middlewares.append(count_in_flight)
    # Not the database threads: busy with a long write or a long job, they made /healthz wait
    # past its deadline and answer 503, and an orchestrator restarted a bot that was working.
    # Its reads wait for no writer; how long the database threads' work has waited for an
    # answer is what tells a database stuck or locked from one that is busy (health_report).
    health_thread = ThreadPoolExecutor(1, thread_name_prefix="health")

    async def stop_health_thread(_app: web.Application) -> None:
        health_thread.shutdown(wait=False)

    web_app.on_cleanup.append(stop_health_thread)

    async def healthz(_request: web.Request) -> web.Response:
        probes_error = server.probes_failure()
        check = functools.partial(
            health_report, runtime, scheduler, server.leadership, probes_error=probes_error
        )
        try:  # a check still waiting (the database gone silent) holds up the next: 503 too
            report = await asyncio.wait_for(
                asyncio.get_running_loop().run_in_executor(health_thread, check),
                HEALTH_DEADLINE,
            )
        except TimeoutError:
            report = unhealthy_database(
                runtime, scheduler, server.leadership, "Timeout", probes_error=probes_error
            )
        report = replace(report, socket_mode_connected=await server.socket_mode_connected())
        return web.json_response(report.to_json(), status=report.http_status)

    web_app.router.add_get("/healthz", healthz)
    return web_app


def read_body(text: str, content_type: str | None) -> dict[str, Any]:
    """A request's body, read as Bolt's `parse_body` reads it, except a form that only holds the
    word `payload` somewhere (a command's text, `update 42 the payload server is back`): Bolt
    took it for a click's form, found no `payload` field and read it as empty, and the command
    was answered 404. Raises ValueError for a body that is not a JSON object."""
    if not text:
        return {}
    if content_type == "application/json" or text.startswith("{"):
        body = json.loads(text)
    else:
        fields = dict(parse_qsl(text, keep_blank_values=True))
        body = json.loads(fields["payload"]) if "payload" in fields else fields
    if not isinstance(body, dict):
        raise ValueError(f"a JSON {type(body).__name__}")
    return body


class _SlackRequest(AsyncBoltRequest):
    """Bolt's request for an HTTP delivery, made of the body as `read_body` read it: Bolt would
    read it again (a tenth of a command's CPU outside its use case, bench/bench_request.py)."""

    def __init__(self, raw_body: str, body: dict[str, Any], query: str, headers: Any) -> None:
        # A body already read is what Bolt takes in Socket Mode; the request is then one over
        # HTTP again, whose signature Bolt checks against the body as it came.
        super().__init__(body=body, query=query, headers=headers, mode="socket_mode")
        self.raw_body, self.mode = raw_body, "http"


def slack_events(bolt: AsyncApp) -> Handler:
    """The handler of Slack's POSTs: the body read once, then Bolt. A body that cannot be read
    (not UTF-8, JSON that is not an object, a `payload` that is not JSON) is answered 400, and
    one without a request timestamp (but Slack's certificate check) 401: Bolt failed on them
    with a 500 and an ERROR traceback, before checking the signature, so anyone could fill the
    logs with them."""

    async def answer(request: web.Request) -> web.StreamResponse:
        content_type = request.headers.get("Content-Type", "").split(";")[0] or None
        try:
            text = await request.text()
            body = read_body(text, content_type)
        except (UnicodeDecodeError, LookupError, ValueError) as error:
            reason = str(error) if str(error).startswith("a JSON") else type(error).__name__
            logger.info("refused a request to %s: unreadable body (%s)", SLACK_PATH, reason)
            return web.json_response({"error": "invalid request body"}, status=400)
        stamp = request.headers.get("X-Slack-Request-Timestamp", "")
        if not (stamp.isascii() and stamp.isdigit()) and "ssl_check" not in body:
            # Bolt's check of the signature read it as a number, and failed on it with a 500
            # and an ERROR traceback: refused as any request not signed by Slack is.
            logger.info("refused a request to %s: no request timestamp", SLACK_PATH)
            return web.json_response({"error": "invalid request"}, status=401)
        slack_request = _SlackRequest(text, body, request.query_string, request.headers)
        return await to_aiohttp_response(await bolt.async_dispatch(slack_request))

    return answer


class _SocketModeHandler(AsyncSocketModeHandler):
    """Bolt's Socket Mode handler, knowing whether it is answering envelopes: their acks go
    over the connection, so a stop closes it only once they are answered (stop()). An ack the
    connection took away with it (dropped while the envelope was being answered, and not back
    yet) is handed to `lost`, and so is a command's ack written to a connection then given up
    before anything showed that Slack read it (`bot.slack.socket_acks`)."""

    def __init__(
        self,
        app: AsyncApp,
        app_token: str,
        *,
        lost: LostAck,
        ping_interval: float = SOCKET_MODE_PING_INTERVAL,
    ) -> None:
        super().__init__(app, app_token, ping_interval=ping_interval)
        self._lost = lost
        self.unconfirmed = UnconfirmedAcks(self.client, lost)
        self._answering = 0
        self.answered = asyncio.Event()  # set while no envelope is being answered
        self.answered.set()

    # Typed as Bolt's own override is (its base class names the client's base class).
    async def handle(self, client: SocketModeClient, req: SocketModeRequest) -> None:  # type: ignore[override]
        self._answering += 1
        self.answered.clear()
        try:
            started = time.time()
            response = await run_async_bolt_app(self.app, req)
            try:
                await send_async_response(client, req, response, started)
            except ConnectionError as error:
                logger.warning("Socket Mode: the ack of %s was lost: %s", req.type, error)
                await self._lost(req, response)
            else:
                self.unconfirmed.sent(req, response)
        finally:
            self._answering -= 1
            if self._answering == 0:
                self.answered.set()


class BotServer:
    """The running bot: Bolt over HTTP (and Socket Mode when configured), /healthz, the outbox
    sender and the scheduler. `start()` binds the port; `stop()` undoes everything."""

    def __init__(
        self,
        runtime: Runtime,
        credentials: SlackCredentials,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        sender_config: SenderConfig | None = None,
        probes: bool = True,
        reuse_port: bool = False,
    ) -> None:
        self.runtime = runtime
        self.credentials = credentials
        self.requests_in_flight = 0
        self.quiet = asyncio.Event()  # set while no Slack request is being answered
        self.quiet.set()
        self._host, self._port = host, port
        self._reuse_port = reuse_port  # several worker processes bind the same port
        self.scheduler = AsyncIOScheduler(timezone=UTC)
        self.api = SlackApi(credentials.api_url, credentials.bot_token)
        self.sender = OutboxSender(
            runtime.sessions,
            self.api,
            runtime.messages,
            clock=runtime.clock,
            config=sender_config
            or SenderConfig(
                alerts_channel=runtime.catalog.team.alerts_channel,
                alerts_channel_watchers=runtime.catalog.team.alerts_channel_watchers,
            ),
            quiet=self.quiet,
            instance=runtime.instance,
        )
        # Leader duties (issue 7): the scheduler's jobs, the probe engine and the outbox sender
        # run on one instance only, the holder of the lease; see _lead/_follow.
        sweep_every = timedelta(seconds=runtime.settings.sweep_seconds)
        # A follower's commits ring the leader's sender instead of waiting for its poll.
        self.doorbell = doorbell_for(runtime.engine)
        self.services = build_services(runtime, wake=self._wake, sweep_every=sweep_every)
        self.sender.add_renderer(ROOT_RENDERER, self.services.tickets.render_root)
        self.bolt = build_bolt_app(runtime, credentials, self.services, wake=self._wake)
        self._runner: web.AppRunner | None = None
        self._socket_mode: _SocketModeHandler | None = None
        self._stopping = asyncio.Event()
        self._sender_task: asyncio.Task[None] | None = None
        self._doorbell_task: asyncio.Task[None] | None = None
        # The probe engine writes outage alerts in the transactions that record the outages.
        self.probes = (
            ProbeEngine(
                runtime.catalog.servers,
                runtime.sessions,
                runtime.clock,
                on_event=self.services.alerts.on_event,
                in_transaction=self.services.alerts.in_transaction,
            )
            if probes
            else None
        )
        self._probes_task: asyncio.Task[None] | None = None
        self._probes_error: str | None = None  # the probe engine's last failure, for /healthz
        schedule_jobs(
            self.scheduler,
            reminders=self.services.reminders,
            sessions=runtime.sessions,
            clock=runtime.clock,
            sweep_every=sweep_every,
            reports=self.services.reports,
            alerts=self.services.alerts,
            probe_history=runtime.settings.probe_history,
        )
        # Leases are judged on the wall clock shared by the processes, not the domain clock.
        self.leadership = Leadership(
            runtime.sessions, runtime.instance, clock=utc_now, lead=self._lead, follow=self._follow
        )
        self._duties_stopping = asyncio.Event()
        self._leadership_task: asyncio.Task[None] | None = None

    @property
    def port(self) -> int:
        if self._runner is None:
            raise RuntimeError("the bot is not started")
        return int(self._runner.addresses[0][1])

    async def start(self, stop: asyncio.Event | None = None) -> None:
        """Listen, campaign, and connect over Socket Mode when configured: `stop` set meanwhile
        (SIGTERM) gives up waiting for Slack; a token Slack refuses raises SlackRefusedError."""
        self._runner = web.AppRunner(
            build_web_app(self.runtime, self.bolt, self.scheduler, self), access_log=None
        )
        await self._runner.setup()
        self.scheduler.start(paused=True)  # resumed while this instance leads (_lead)
        # Campaign before listening: a lone instance leads before start() returns, and no
        # /healthz ever answers before this instance knows whether it leads.
        await self.leadership.step()
        site = web.TCPSite(self._runner, self._host, self._port, reuse_port=self._reuse_port)
        try:
            await site.start()
        except OSError as error:
            raise ListenError.of(self._host, self._port, error) from error
        self._leadership_task = asyncio.create_task(
            self.leadership.run(self._stopping), name="leadership"
        )
        if self.credentials.app_token is not None:
            handler = _SocketModeHandler(
                self.bolt, self.credentials.app_token, lost=self._answer_lost_ack
            )
            self._socket_mode = handler  # closed by stop(), whatever happens next
            await self._connect_socket_mode(handler, stop or asyncio.Event())
        paths = "/slack/events, /healthz" if self.credentials.signing_secret else "/healthz"
        logger.info("listening on http://%s:%d (%s)", self._host, self.port, paths)

    async def _connect_socket_mode(self, handler: _SocketModeHandler, stop: asyncio.Event) -> None:
        """Open the first Socket Mode connection, unless `stop` is set first. The SDK retries a
        WebSocket that does not open (a proxy refusing the upgrade, Slack's host unreachable)
        every 10 s forever, with the same one-use URL: after SOCKET_MODE_CONNECT_TIMEOUT, a new
        URL is asked for instead, and a stop meanwhile is not ignored."""
        while not stop.is_set():
            url = await self._socket_mode_url(handler.client, stop)
            if url is None:
                return
            handler.client.wss_uri = url
            connecting = asyncio.ensure_future(handler.connect_async())  # type: ignore[no-untyped-call]
            stopping = asyncio.ensure_future(stop.wait())
            await asyncio.wait(
                (connecting, stopping),
                timeout=SOCKET_MODE_CONNECT_TIMEOUT,
                return_when=asyncio.FIRST_COMPLETED,
            )
            stopping.cancel()
            if connecting.done():
                connecting.result()
                logger.info("connected to Slack over Socket Mode")
                return
            connecting.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await connecting
            if not stop.is_set():
                logger.warning(
                    "Socket Mode: the WebSocket did not open within %.0f s; asking for a new URL",
                    SOCKET_MODE_CONNECT_TIMEOUT,
                )

    async def _socket_mode_url(self, client: SocketModeClient, stop: asyncio.Event) -> str | None:
        """The first Socket Mode URL (apps.connections.open), None if `stop` is set first. A
        refused token raises SlackRefusedError at once: the SDK retried it every 10 s forever,
        and the start, never over, ignored SIGTERM. Slack unreachable, busy or rate limiting
        is asked again 1 s doubling up to 60 s later (at least its Retry-After)."""
        delay = SOCKET_MODE_RETRY
        while not stop.is_set():
            wait = delay
            try:
                opened = await client.web_client.apps_connections_open(app_token=client.app_token)
                return str(opened["url"])
            except SlackApiError as error:
                code = str(error.response.get("error") or f"HTTP {error.response.status_code}")
                if code not in SOCKET_MODE_TRANSIENT and error.response.status_code < 500:
                    raise SlackRefusedError.app_token(code) from error
                retry_after = error.response.headers.get("Retry-After", "")
                wait = max(delay, float(retry_after)) if retry_after.isdigit() else delay
                reason = code
            except (aiohttp.ClientError, OSError, TimeoutError) as error:
                reason = str(error) or type(error).__name__
            logger.warning(
                "Socket Mode: apps.connections.open failed (%s); asking again in %.0f s",
                reason,
                wait,
            )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), wait)
            delay = min(delay * 2, MAX_SOCKET_MODE_RETRY)
        return None

    async def stop(self) -> None:
        logger.info("stopping")
        self._stopping.set()
        if self._leadership_task is not None:
            await self._leadership_task  # steps down (_follow) and frees the lease
        else:  # start() failed after the first campaign (the port was taken, say)
            await self.leadership.step_down()
        await self.api.close()
        if self._socket_mode is not None:
            # A command being answered may have committed already: its ack must reach Slack,
            # or the technician is told it failed and types it again.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._socket_mode.answered.wait(), SOCKET_MODE_DRAIN)
            await self._socket_mode.close_async()  # type: ignore[no-untyped-call]
            await self._socket_mode.unconfirmed.settle()
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        if self._runner is not None:
            await self._runner.cleanup()
        await background_done(BACKGROUND_DRAIN)  # clicks acked, their outcome still to tell
        self.leadership.close()
        self.doorbell.close()

    async def _lead(self) -> None:
        """This instance won the lease: start the leader duties (scheduler jobs, probes, outbox)."""
        self._duties_stopping = asyncio.Event()
        self.scheduler.resume()
        # Catch up at once with what fell due while no instance led (sent late, or superseded).
        run_soon(self.scheduler, SWEEP_JOB, now=utc_now())
        if self.probes is not None:
            self._probes_task = asyncio.create_task(
                self._run_probes(self.probes, self._duties_stopping), name="probe-engine"
            )
        self._sender_task = asyncio.create_task(
            self.sender.run(self._duties_stopping), name="outbox-sender"
        )
        self._doorbell_task = asyncio.create_task(self._answer_doorbell(), name="outbox-doorbell")

    async def _follow(self) -> None:
        """This instance lost (or gave up) the lease: stop the leader duties at once."""
        if self.scheduler.running:
            self.scheduler.pause()
        self._duties_stopping.set()
        if self._probes_task is not None:
            await self._probes_task  # its last flush queues alerts the sender still delivers
            self._probes_task = None
        if self._sender_task is not None:
            await self._sender_task
            self._sender_task = None
        if self._doorbell_task is not None:
            await self._doorbell_task
            self._doorbell_task = None

    async def socket_mode_connected(self) -> bool | None:
        """Whether the Socket Mode connection is up (None over HTTP): while it is down, no
        command reaches this instance."""
        if self._socket_mode is None:
            return None
        return bool(await self._socket_mode.client.is_connected())

    def probes_failure(self) -> str | None:
        """Why the probe engine is not running while this instance leads, if it failed."""
        if self._probes_error is None or self.probes is None or self.probes.running:
            return None
        return self._probes_error if self.leadership.is_leader else None

    async def _run_probes(self, probes: ProbeEngine, stop: asyncio.Event) -> None:
        """Run the probe engine while leading. One that fails (the database away while it loads
        the probes' states) is started again, 1 s doubling up to 30 s later: the instance goes
        on leading, and its probes must not stop for good, nor fail the step down (_follow)."""
        delay = PROBES_RETRY
        while not stop.is_set():
            started = time.monotonic()
            try:
                await probes.run(stop)
            except Exception as error:
                self._probes_error = type(error).__name__  # as /healthz names errors: no text
                if time.monotonic() - started >= MAX_PROBES_RETRY:
                    delay = PROBES_RETRY  # it had run well: a new failure, not the same one
                logger.exception("probe engine failed; starting it again in %.0f s", delay)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), delay)
                delay = min(delay * 2, MAX_PROBES_RETRY)

    async def _answer_doorbell(self) -> None:
        """Wake the sender at the followers' rings while leading; a doorbell that fails costs
        speed (the sender's poll delivers), never the leadership or a clean stop."""
        try:
            await self.doorbell.answer(self.sender.rung, self._duties_stopping)
        except Exception:
            logger.exception("outbox doorbell: no longer answering; the sender's poll delivers")

    async def _answer_lost_ack(self, req: SocketModeRequest, response: BoltResponse) -> None:
        """A command's ack was lost with its connection: Slack tells the technician the command
        failed, while it was carried out. Its reply goes to the command's response_url instead,
        or they would type it again (a second ticket for one incident)."""
        url = req.payload.get("response_url")
        if req.type != "slash_commands" or not url or response.status != 200 or not response.body:
            return
        reply = json.loads(response.body) if response.body.startswith("{") else {}
        message = Outbound(
            # Not `respond`'s key for the command: a report that follows its ack goes there.
            key=f"ack/{req.payload.get('trigger_id') or req.envelope_id}",
            operation=OutboxOperation.RESPONSE,
            response_url=str(url),
            text=str(reply.get("text") or response.body),
            blocks=reply.get("blocks"),
        )

        def queue() -> None:
            with self.runtime.sessions.begin() as session:
                outbox.add_message(session, message, now=self.runtime.clock())

        await in_database_thread(queue)
        self._wake()

    def _wake(self) -> None:
        """After a commit that may have queued messages: wake the sender, here or the leader's."""
        if self.leadership.is_leader:
            self.sender.wake()
        else:
            self.doorbell.ring()


async def serve(
    settings: Settings,
    stop: asyncio.Event | None = None,
    *,
    reuse_port: bool = False,
    mirrored: Catalog | None = None,
) -> None:
    """Run the bot until `stop` is set (or SIGINT/SIGTERM); `reuse_port` and the catalog its
    supervisor mirrored when it is one of several workers sharing the port (bot/workers.py)."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    database_threads.configure(settings.threads_for_database)
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    runtime = await in_database_thread(build_runtime, settings, mirrored=mirrored)
    logger.info("database: %s", describe(runtime.engine))

    emulator: SlackEmulator | None = None
    console: Console | None = None
    kept: Path | None = None
    saving: asyncio.Task[None] | None = None
    saved = asyncio.Event()  # set once the bot stopped sending: the last save
    if settings.local_mode:
        emulator = SlackEmulator(
            bot_token=f"xoxb-local-{secrets.token_hex(8)}",
            signing_secret=secrets.token_hex(16),
        )
        kept = local_state.state_file(runtime.engine)
        if kept is not None:
            local_state.restore(emulator, kept)
        console = Console(
            emulator,
            user_id=add_team(emulator, runtime.catalog.team),
            channel_id=runtime.catalog.team.alerts_channel,
        )
        await emulator.start()
        console.attach()
        credentials = SlackCredentials(
            emulator.bot_token, emulator.signing_secret, None, emulator.api_url
        )
    else:
        credentials = _credentials(settings)

    server = BotServer(
        runtime, credentials, host=settings.listen_host, port=settings.port, reuse_port=reuse_port
    )
    reading: asyncio.Task[None] | None = None
    try:
        if emulator is not None and kept is not None:
            saving = asyncio.create_task(local_state.keep_saved(emulator, kept, saved))
        await server.start(stop)
        # Everything built so far lives as long as the process: out of the collector's sight,
        # a full collection no longer walks it (on a 2-vCPU VM, ~150 ms stalls of the loop).
        gc.freeze()
        if emulator is not None and console is not None:
            emulator.bot_url = f"http://127.0.0.1:{server.port}/slack/events"
            _print_local_banner(emulator, server.port)
            if not sys.stdin.isatty():  # a file or a pipe: what it holds is not typed commands
                print("No console: standard input is not a terminal.", flush=True)
            else:
                reading = asyncio.create_task(run_console(console))
        await stop.wait()
    finally:
        if reading is not None:
            reading.cancel()
        await server.stop()
        if emulator is not None:
            await emulator.stop()
        if saving is not None:
            saved.set()
            await saving
        runtime.engine.dispose()


def _credentials(settings: Settings) -> SlackCredentials:
    """The Slack credentials the settings hold; `supportbot run` checked they are complete
    (`Settings.missing_credential`) before anything started."""
    missing = settings.missing_credential
    if missing is not None:
        raise SystemExit(missing)
    assert settings.slack_bot_token is not None  # not local mode, nothing missing
    return SlackCredentials(
        bot_token=settings.slack_bot_token.get_secret_value(),
        signing_secret=(
            settings.slack_signing_secret.get_secret_value()
            if settings.slack_signing_secret is not None
            else ""
        ),
        app_token=(
            settings.slack_app_token.get_secret_value()
            if settings.slack_app_token is not None
            else None
        ),
        api_url=settings.slack_api_url,
    )


def _print_local_banner(emulator: SlackEmulator, port: int) -> None:
    print(
        "supportbot is running in local mode: no Slack credentials are set, so it talks to the\n"
        f"local Slack emulator at {emulator.api_url} instead of Slack.\n"
        f"The bot listens on http://127.0.0.1:{port}/slack/events; health: "
        f"http://127.0.0.1:{port}/healthz\n"
        "Messages the bot posts are printed below as they happen. Ctrl-C stops.",
        flush=True,
    )
