"""The local mode's Slack survives a restart: the emulator's workspace is kept in a file.

The database outlives `make run`, and with it the outbox's record of every message the bot
posted. A new, empty emulator would answer each later thread post or root edit of those
messages `message_not_found`, and the bot would report every one of them as undeliverable. The
workspace is saved beside the SQLite file (`supportbot.db-slack.json`) every few seconds when it
changed, and at shutdown, and read back at the next start.
"""

import asyncio
import contextlib
import logging
from pathlib import Path

from sqlalchemy import Engine

from bot.sandbox.workspace import Workspace

logger = logging.getLogger(__name__)

SAVE_EVERY = 5.0  # seconds between checks for changes to save


def state_file(engine: Engine) -> Path | None:
    """Where the workspace of a local run on `engine`'s database is kept: beside its SQLite
    file; None for an in-memory database (nothing outlives the run) or another server."""
    url = engine.url
    database = url.database or ""
    if url.get_backend_name() != "sqlite" or database in ("", ":memory:"):
        return None
    if database.startswith("file:"):
        return None
    return Path(f"{database}-slack.json")


def restore(workspace: Workspace, path: Path) -> None:
    """Read `path` into `workspace` if it exists; a file that cannot be read is set aside
    (`.unreadable`) with a warning, and the workspace starts empty."""
    if not path.exists():
        return
    try:
        restored = workspace.load(path)
    except (OSError, ValueError) as error:
        aside = path.with_name(f"{path.name}.unreadable")
        path.replace(aside)
        logger.warning("local Slack: %s could not be read (%s); moved to %s", path, error, aside)
        return
    logger.info("local Slack: %d message(s) restored from %s", restored, path)


async def keep_saved(workspace: Workspace, path: Path, stop: asyncio.Event) -> None:
    """Save `workspace` to `path` whenever it changed, every SAVE_EVERY seconds, and once more
    when `stop` is set."""
    saved = workspace.state_mark()
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), SAVE_EVERY)
        mark = workspace.state_mark()
        if mark != saved:
            try:
                await asyncio.to_thread(workspace.save, path)
            except Exception:  # a full disk, say: the next check tries again
                logger.exception("local Slack: could not save to %s", path)
                continue
            saved = mark
