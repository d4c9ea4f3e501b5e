"""`supportbot outbox send|status`: run only the outbox sender, or show what it holds (what
is pending, and the latest messages failed for good or dropped as moot, with why).

`send` is the sender alone (no Bolt, no scheduler): a worker process for deployments that split
roles, and what the crash tests SIGKILL. It is a composition root: it reads the real clock.
"""

import argparse
import asyncio
import logging
import signal
import socket
import sys
from pathlib import Path

from alembic.util import CommandError
from sqlalchemy.exc import SQLAlchemyError

from bot.app import utc_now
from bot.cli import EXIT_OK, EXIT_USAGE
from bot.cli.check_config import history_refused, print_problems
from bot.cli.database_errors import NEWER_HINT, open_migrated, sqlite_folder_refused
from bot.cli.settings_errors import read_settings
from bot.config import Catalog, CatalogError, Settings, load_catalog
from bot.messages import Messages
from bot.outbox.sender import OutboxSender, SenderConfig
from bot.services.tickets import ROOT_RENDERER, TicketService
from bot.slack.api import AUTH_ERRORS, SlackApi
from bot.storage import outbox
from bot.storage.database import (
    DatabaseUnavailableError,
    describe,
    make_sessionmaker,
    migrate,
    open_database,
    reading,
)
from bot.storage.threads import in_database_thread

logger = logging.getLogger("supportbot.outbox")


def register(subparsers: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    parser = subparsers.add_parser("outbox", help="run the outbox sender, or show its state")
    commands = parser.add_subparsers(dest="outbox_command", required=True, metavar="ACTION")
    send = commands.add_parser("send", help="deliver the outbox until SIGTERM/SIGINT")
    send.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING"])
    send.set_defaults(handler=run_send)
    status = commands.add_parser("status", help="pending, failed, dropped, oldest pending age")
    status.add_argument(
        "--limit", type=_count, default=20, help="failed and dropped rows to list (default 20 each)"
    )
    status.set_defaults(handler=run_status)


def _count(text: str) -> int:
    """A number of rows, 0 or more: a negative LIMIT lists every row on SQLite and is an
    error on PostgreSQL."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, not {value}")
    return value


def run_send(args: argparse.Namespace) -> int:
    logging.basicConfig(
        level=args.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    settings = read_settings()
    if settings is None:
        return EXIT_USAGE
    if settings.slack_bot_token is None:
        print("SLACK_BOT_TOKEN is required to send the outbox", file=sys.stderr)
        return EXIT_USAGE
    folder = sqlite_folder_refused(settings)
    if folder is not None:
        print(folder, file=sys.stderr)
        return EXIT_USAGE
    try:
        catalog = load_catalog(settings.catalog_path(Path.cwd()))
    except CatalogError as error:
        print(f"{error.source}: {len(error.problems)} problem(s)", file=sys.stderr)
        for problem in error.problems:
            print(f"  {problem}", file=sys.stderr)
        return EXIT_USAGE
    try:
        # Refused as `run` refuses it: roots rendered on it fail, and go as they were queued.
        missing = history_refused(settings, catalog)
    except (DatabaseUnavailableError, SQLAlchemyError):
        missing = []  # said as the start below says it, opening the database again
    if missing:
        print_problems(CatalogError(str(settings.catalog_path(Path.cwd())), missing))
        return EXIT_USAGE
    try:
        asyncio.run(_send(settings, catalog))
    except DatabaseUnavailableError as error:
        print(error, file=sys.stderr)
        return EXIT_USAGE
    except CommandError as error:  # the migrations at start, on a schema they do not know
        print(f"cannot migrate the database: {error} ({NEWER_HINT})", file=sys.stderr)
        return EXIT_USAGE
    return EXIT_OK


async def _send(settings: Settings, catalog: Catalog) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    engine = await in_database_thread(open_database, settings.database_url.get_secret_value())
    await in_database_thread(migrate, engine)
    assert settings.slack_bot_token is not None  # checked by run_send
    api = SlackApi(settings.slack_api_url, settings.slack_bot_token.get_secret_value())
    sessions, messages = make_sessionmaker(engine), Messages(settings.language)
    sender = OutboxSender(
        sessions,
        api,
        messages,
        clock=utc_now,
        config=SenderConfig(
            alerts_channel=catalog.team.alerts_channel,
            alerts_channel_watchers=catalog.team.alerts_channel_watchers,
        ),
        # Restarted on this host, it takes over the claims of the run it follows at once.
        instance=f"{settings.instance_id or socket.gethostname()}/outbox-send",
    )
    tickets = TicketService(sessions, catalog, messages, clock=utc_now)
    sender.add_renderer(ROOT_RENDERER, tickets.render_root)  # ticket roots are written on send
    logger.info("sending the outbox of %s to %s", describe(engine), api.base_url)
    try:
        await sender.run(stop)
    finally:
        await api.close()
        engine.dispose()
        logger.info("stopped")


def run_status(args: argparse.Namespace) -> int:
    settings = read_settings()
    if settings is None:
        return EXIT_USAGE
    engine = open_migrated(settings)
    if engine is None:
        return EXIT_USAGE
    # A read-only session: it neither waits for the running bot's writes nor holds them up.
    with reading(make_sessionmaker(engine)) as session:
        stats = outbox.get_stats(session, now=utc_now())
        failed = outbox.list_failed(session, limit=args.limit)
        retried = outbox.count_pending_errors(session)
        dropped = outbox.list_dropped(session, limit=args.limit)
    engine.dispose()
    age = stats.oldest_pending_age
    print(f"pending: {stats.pending}")
    print(f"failed: {stats.failed}")
    print(f"dropped: {stats.dropped}")
    print(f"oldest pending age: {'-' if age is None else f'{age.total_seconds():.0f} s'}")
    if retried:
        print("pending messages retried after an error:")
    for error, count in sorted(retried.items(), key=lambda item: -item[1]):
        print(f"  {error}: {count} message(s){_hint(error)}")
    if failed:
        print(f"failed messages (latest {len(failed)}):")
    for row in failed:
        print(f"  {row.key}: {row.last_error}")
    if dropped:
        print(f"dropped messages, moot when their turn came (latest {len(dropped)}):")
    for row in dropped:
        print(f"  {row.key}: {row.last_error}")
    return EXIT_OK


def _hint(error: str) -> str:
    """What the operator must do about a pending message's error, when it is theirs to fix."""
    if error in AUTH_ERRORS:
        return (
            " -- Slack refuses the bot token: set a valid SLACK_BOT_TOKEN (install the app "
            "again if it was removed) and restart; every message waits, none is lost"
        )
    return ""
