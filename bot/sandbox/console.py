"""The local mode's console: type slash commands and click buttons in the terminal, as a Slack
user would.

A line is `[USER_ID] /command text…`, e.g. `/intervention help` or `U01BBB /intervention claim 1`,
or `[USER_ID] click N` to click the button printed as `[N Label]`; the emulator sends it to the bot
exactly as Slack would (signed, over HTTP) and what the bot answers is printed. A modal the bot
opens is filled in here, one field at a time, and submitted as Slack submits it.
"""

import asyncio
import logging
import re
import sys
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bot.config import Team
from bot.sandbox import driver
from bot.sandbox.emulator import SlackEmulator
from bot.sandbox.records import BotReply, JsonDict, OpenedView, iter_elements
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


_USER = r"(?:(?P<user>[UW][A-Z0-9]+)\s+)?"
_LINE = re.compile(_USER + r"(?P<command>/[a-z_-]+)(?:\s+(?P<text>.*))?")
_CLICK = re.compile(_USER + r"click(?:\s+(?P<number>.*))?")
_NUMBER = re.compile(r"[0-9]{1,9}")
USAGE = "write: [USER_ID] /command text…   e.g. /intervention help   or: [USER_ID] click N"


def as_shown(text: str) -> str:
    """Message text as Slack shows it: the `&lt;`, `&gt;` and `&amp;` that Slack's text format
    requires (so `<ticket>` is not read as a link) turned back into `<`, `>` and `&`."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _print(text: str) -> None:
    print(text, flush=True)


@dataclass(frozen=True)
class Button:
    """A button the console printed, and where it was: on a message the workspace keeps
    (`ts`), or on what only one user saw (an ephemeral message, a command's reply)."""

    number: int
    label: str
    block_id: str
    element: JsonDict
    channel_id: str
    ts: str | None


@dataclass
class _Field:
    """One input of a modal, and the value the console will submit for it."""

    block_id: str
    label: str
    hint: str
    optional: bool
    element: JsonDict
    value: str | None  # a text's value, or a select's option value

    @property
    def kind(self) -> str:
        return str(self.element.get("type", ""))

    @property
    def options(self) -> list[JsonDict]:
        return list(self.element.get("options") or [])

    def shown(self) -> str:
        """The value as the modal shows it (a select's option by its text)."""
        for option in self.options:
            if option.get("value") == self.value:
                return str(option["text"]["text"])
        return self.value or ""

    def state(self) -> JsonDict:
        """The field's entry in view.state.values, as Slack sends it."""
        if self.kind == "static_select":
            chosen = next((o for o in self.options if o.get("value") == self.value), None)
            return {self.element["action_id"]: {"type": self.kind, "selected_option": chosen}}
        return {self.element["action_id"]: {"type": self.kind, "value": self.value}}


FILLABLE = ("plain_text_input", "static_select")


class Console:
    """Prints what the bot posts (numbering the buttons) and sends what the user types.

    Runs on the emulator's event loop: its observers are called there, and put what they see
    in `inbox` with the lines typed, so that a modal is filled in between two commands."""

    def __init__(
        self,
        emulator: SlackEmulator,
        *,
        user_id: str,
        channel_id: str,
        out: Callable[[str], None] = _print,
    ) -> None:
        self.emulator = emulator
        self.user_id = user_id
        self.channel_id = channel_id
        self.out = out
        self.inbox: asyncio.Queue[str | OpenedView] = asyncio.Queue()
        self._buttons: list[Button] = []
        self._numbers: dict[tuple[str, str, str], int] = {}  # (channel, ts, action_id)
        self._views: deque[OpenedView] = deque()  # opened while another was being filled in
        self._ended = False

    def attach(self) -> None:
        """Print every message the bot posts or updates, and every ephemeral it shows."""
        self.emulator.on_message(self.show_message)
        self.emulator.on_ephemeral(self.show_ephemeral)

    # -- what the bot shows ----------------------------------------------------------------------

    def show_message(self, channel: str, thread_ts: str | None, ts: str, text: str) -> None:
        """A message posted or updated, with its buttons (the same numbers once updated)."""
        where = f"{channel} (thread {thread_ts})" if thread_ts else channel
        self.out(f"[slack] {where} {ts}: {as_shown(text)}")
        try:
            message = self.emulator.message(channel, ts)
        except KeyError:  # deleted since
            return
        self._show_buttons(message.blocks, channel, ts)

    def show_ephemeral(self, channel: str, user_id: str, ts: str, text: str) -> None:
        """A message only `user_id` sees (a click's outcome, a late reply), with its buttons."""
        self.out(f"[slack] {channel} {ts}, only {user_id} sees: {as_shown(text)}")
        shown = next((e for e in self.emulator.ephemerals(user_id) if e.ts == ts), None)
        if shown is not None:
            self._show_buttons(shown.blocks, channel, None)

    def _show_reply(self, user_id: str, reply: BotReply) -> None:
        shown = as_shown(reply.text) if reply.text else reply.status
        self.out(f"[reply to {user_id}] {shown}")
        body = reply.json() if reply.body.startswith("{") else None
        if isinstance(body, dict) and isinstance(body.get("blocks"), list):
            self._show_buttons(body["blocks"], self.channel_id, None)

    def _show_buttons(self, blocks: list[JsonDict], channel: str, ts: str | None) -> None:
        labels = []
        for block_id, element in iter_elements(blocks):
            if element.get("type") != "button":
                continue
            key = (channel, ts, str(element["action_id"])) if ts is not None else None
            number = self._numbers.get(key) if key is not None else None
            label = str(element.get("text", {}).get("text", element["action_id"]))
            if number is None:
                number = len(self._buttons) + 1
                self._buttons.append(Button(number, label, block_id, element, channel, ts))
                if key is not None:
                    self._numbers[key] = number
            labels.append(f"[{number} {label}]")
        if labels:
            self.out("  " + " ".join(labels))

    # -- what the user types ---------------------------------------------------------------------

    async def serve(self) -> None:
        """Act on the lines typed (and fill in the modals the bot opens) until the end of input."""
        self.emulator.on_view(self.inbox.put_nowait)
        while not self._ended:
            item = self._views.popleft() if self._views else await self.inbox.get()
            if isinstance(item, OpenedView):
                await self._fill(item)
            elif not item:  # end of input (Ctrl-D): nothing typed after it would be read
                self._ended = True
            else:
                await self._act(item.strip())
        self.out("End of input: the console is closed; the bot keeps running. Ctrl-C stops it.")

    async def _act(self, line: str) -> None:
        if not line:
            return
        click = _CLICK.fullmatch(line)
        if click is not None:
            await self._click(click["number"] or "", click["user"] or self.user_id)
            return
        match = _LINE.fullmatch(line)
        if match is None:
            self.out(USAGE)
            return
        if match["command"] not in COMMANDS:
            # Slack would not send it (the app declares only these): the bot's framework would
            # answer with a developer's hint and `{"error": "unhandled request"}`.
            self.out(
                f"unknown command {match['command']}: the bot answers {' and '.join(COMMANDS)}"
            )
            return
        user_id = match["user"] or self.user_id
        try:
            reply = await self.emulator.send_slash_command(
                match["command"], match["text"] or "", user_id=user_id, channel_id=self.channel_id
            )
        except Exception:
            logger.exception("the command could not be delivered to the bot")
            return
        self._show_reply(user_id, reply)

    def button(self, typed: str) -> Button | None:
        """The button printed as number `typed`; None (and why, printed) if there is none."""
        count = len(self._buttons)
        if _NUMBER.fullmatch(typed) and 1 <= int(typed) <= count:
            return self._buttons[int(typed) - 1]
        printed = f"the buttons printed are numbered 1 to {count}" if count else "none yet"
        if not typed:
            self.out(f"click takes the number of a button printed as [N Label] ({printed})")
        else:
            self.out(f"no button {typed}: {printed}")
        return None

    async def _click(self, typed: str, user_id: str) -> None:
        button = self.button(typed)
        if button is None:
            return
        action_id = str(button.element["action_id"])
        try:
            if button.ts is not None:  # as the message is now: the bot may have changed it
                reply = await self.emulator.click(
                    button.channel_id, button.ts, action_id, user_id=user_id
                )
            else:
                payload = driver.block_actions(
                    self.emulator,
                    action_id,
                    user_id=user_id,
                    channel_id=button.channel_id,
                    block_id=button.block_id or None,
                    element=button.element,
                )
                reply = await self.emulator.send_interactive(payload)
        except LookupError:
            self.out(f"button {button.number} ({button.label}) is no longer on its message")
            return
        except Exception:
            logger.exception("the click could not be delivered to the bot")
            return
        if reply.status != 200 or reply.body:
            self._show_reply(user_id, reply)

    # -- modals ----------------------------------------------------------------------------------

    async def _read(self) -> str | None:
        """The next line typed (stripped); None at the end of input."""
        while True:
            item = await self.inbox.get()
            if isinstance(item, OpenedView):
                self._views.append(item)  # filled in after this one
                continue
            if not item:
                self._ended = True
                return None
            return item.strip()

    async def _fill(self, view: OpenedView) -> None:
        """Ask for each input of the modal, submit it; ask again for the fields it refuses."""
        title = str(view.view.get("title", {}).get("text", ""))
        submit = str((view.view.get("submit") or {}).get("text", "Submit"))
        self.out(f"[modal for {view.user}] {title}")
        fields: list[_Field] = []
        for block in view.view.get("blocks", []):
            for text in _texts(block):
                self.out(f"  {as_shown(text)}")
            if block.get("type") == "input":
                fields.append(_field(block))
        unfillable = [f.label for f in fields if f.kind not in FILLABLE]
        if unfillable:
            self.out(f"  the console cannot fill in {', '.join(unfillable)}: modal not sent")
            return
        self.out("  Enter keeps the value in [brackets]; Enter on a required empty field cancels.")
        asked = fields
        while True:
            for field in asked:
                if not await self._ask(field):
                    self.out(f"[modal] {title}: cancelled, nothing sent to the bot")
                    return
            self.out(f"  Enter sends it ({submit}); n cancels:")
            answer = await self._read()
            if answer is None or answer.lower() in ("n", "no"):
                self.out(f"[modal] {title}: cancelled, nothing sent to the bot")
                return
            values = {field.block_id: field.state() for field in fields}
            try:
                reply = await self.emulator.submit_view(view, values)
            except Exception:
                logger.exception("the modal could not be delivered to the bot")
                return
            if reply.status != 200:
                self._show_reply(view.user, reply)
                return
            errors = _errors(reply)
            if not errors:
                self.out(f"[modal] {title}: sent")
                return
            self.out(f"[modal] {title}: the bot refused it; correct the field(s):")
            by_block = {field.block_id: field for field in fields}
            for block_id, message in errors.items():
                label = by_block[block_id].label if block_id in by_block else block_id
                self.out(f"  {label}: {message}")
            asked = [field for field in fields if field.block_id in errors] or fields

    async def _ask(self, field: _Field) -> bool:
        """Set the field from what is typed; False if the user cancels (or input ends)."""
        need = "optional" if field.optional else "required"
        current = f" [{field.shown()}]" if field.value else ""
        self.out(f"  {field.label} ({need}){current}:" + (f"  {field.hint}" if field.hint else ""))
        options = field.options
        for number, option in enumerate(options, start=1):
            self.out(f"    {number} {option['text']['text']}")
        while True:
            answer = await self._read()
            if answer is None:
                return False
            if not answer:
                return bool(field.value) or field.optional
            if not options:
                longest = field.element.get("max_length")
                if isinstance(longest, int) and len(answer) > longest:  # Slack's client refuses
                    self.out(f"  at most {longest} characters ({len(answer)} typed):")
                    continue
                field.value = answer
                return True
            if _NUMBER.fullmatch(answer) and 1 <= int(answer) <= len(options):
                field.value = str(options[int(answer) - 1]["value"])
                return True
            self.out(f"  choose a number from 1 to {len(options)}:")


def _field(block: JsonDict) -> _Field:
    element = dict(block.get("element") or {})
    initial = element.get("initial_value")
    if isinstance(element.get("initial_option"), dict):
        initial = element["initial_option"].get("value")
    return _Field(
        block_id=str(block.get("block_id", "")),
        label=str(block.get("label", {}).get("text", "")),
        hint=str((block.get("hint") or {}).get("text", "")),
        optional=bool(block.get("optional", False)),
        element=element,
        value=None if initial is None else str(initial),
    )


def _texts(block: JsonDict) -> list[str]:
    """The text a section or context block of a modal shows."""
    if block.get("type") == "section" and isinstance(block.get("text"), dict):
        return [str(block["text"].get("text", ""))]
    if block.get("type") == "context":
        return [str(e.get("text", "")) for e in block.get("elements", []) if "text" in e]
    return []


def _errors(reply: BotReply) -> dict[str, Any]:
    """The errors of a `response_action: errors` answer (block_id -> message), else {}."""
    body = reply.json() if reply.body.startswith("{") else None
    if isinstance(body, dict) and body.get("response_action") == "errors":
        return dict(body.get("errors") or {})
    return {}


async def run_console(console: Console) -> None:
    """Read lines from stdin until EOF and act on them (`Console.serve`)."""
    console.out(
        f"Type a command as {console.user_id} (or prefix another user id), "
        "e.g. /intervention help\n"
        "Buttons are printed numbered, e.g. [2 Claim]: click 2 clicks it (U01BBB click 2 as\n"
        "another user); the fields of a modal it opens are asked for here."
    )
    # A reader callback, not a thread: a thread blocked in readline() would hold up shutdown.
    loop = asyncio.get_running_loop()
    loop.add_reader(sys.stdin, lambda: console.inbox.put_nowait(sys.stdin.readline()))
    try:
        await console.serve()
    finally:
        loop.remove_reader(sys.stdin)
