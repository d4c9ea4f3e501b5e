"""The local mode's console: type slash commands in the terminal, as a Slack user would.

A line is `[USER_ID] /command text…`, e.g. `/intervention help` or `U01BBB /intervention claim 1`;
the emulator sends it to the bot exactly as Slack would and the bot's reply is printed.
"""

import asyncio
import logging
import re
import sys

from bot.config import Team
from bot.sandbox.emulator import SlackEmulator
from bot.sandbox.workspace import Workspace
from bot.slack.ids import Command

logger = logging.getLogger(__name__)

COMMANDS = tuple(Command)  # the slash commands of the app (manifest.yml)
LOCAL_USER = "U01LOCAL"  # the console's user when the catalog names technicians by user group


def add_team(workspace: Workspace, team: Team) -> str:
    """Give the local Slack the catalog's alert channel and people; return the user the console
    acts as: the first technician the catalog lists, else a local user, made the only member of
    the team's user group so that the console can act on tickets."""
    workspace.add_channel(team.alerts_channel, name="alerts")
    for user_id in {*team.technicians, *team.oncall}:
        workspace.add_user(user_id)
    user_id = team.technicians[0] if team.technicians else LOCAL_USER
    if team.usergroup is not None:
        workspace.add_usergroup(team.usergroup, [user_id])
    return user_id


_LINE = re.compile(r"(?:(?P<user>[UW][A-Z0-9]+)\s+)?(?P<command>/[a-z_-]+)(?:\s+(?P<text>.*))?")


def as_shown(text: str) -> str:
    """Message text as Slack shows it: the `&lt;`, `&gt;` and `&amp;` that Slack's text format
    requires (so `<ticket>` is not read as a link) turned back into `<`, `>` and `&`."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


async def run_console(emulator: SlackEmulator, *, user_id: str, channel_id: str) -> None:
    """Read commands from stdin until EOF; each is sent as `user_id` from `channel_id`."""
    print(f"Type a command as {user_id} (or prefix another user id), e.g. /intervention help")
    # A reader callback, not a thread: a thread blocked in readline() would hold up shutdown.
    lines: asyncio.Queue[str] = asyncio.Queue()
    loop = asyncio.get_running_loop()
    loop.add_reader(sys.stdin, lambda: lines.put_nowait(sys.stdin.readline()))
    try:
        await _serve(emulator, lines, user_id=user_id, channel_id=channel_id)
    finally:
        loop.remove_reader(sys.stdin)


async def _serve(
    emulator: SlackEmulator, lines: "asyncio.Queue[str]", *, user_id: str, channel_id: str
) -> None:
    while True:
        line = await lines.get()
        if not line:  # end of input (Ctrl-D): nothing typed after it would be read
            print("End of input: the console is closed; the bot keeps running. Ctrl-C stops it.")
            return
        line = line.strip()
        if not line:
            continue
        match = _LINE.fullmatch(line)
        if match is None:
            print("write: [USER_ID] /command text…   e.g. /intervention help")
            continue
        if match["command"] not in COMMANDS:
            # Slack would not send it (the app declares only these): the bot's framework would
            # answer with a developer's hint and `{"error": "unhandled request"}`.
            print(f"unknown command {match['command']}: the bot answers {' and '.join(COMMANDS)}")
            continue
        try:
            reply = await emulator.send_slash_command(
                match["command"],
                match["text"] or "",
                user_id=match["user"] or user_id,
                channel_id=channel_id,
            )
        except Exception:
            logger.exception("the command could not be delivered to the bot")
            continue
        shown = as_shown(reply.text) if reply.text else reply.status
        print(f"[reply to {match['user'] or user_id}] {shown}", flush=True)
