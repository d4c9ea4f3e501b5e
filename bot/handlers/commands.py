"""Slash commands `/intervention` and `/sla`: parse the first word and dispatch."""

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp

from bot.errors import UserFacingError
from bot.handlers.errors import ack_with_reply
from bot.messages import Messages

COMMANDS = ("/intervention", "/sla")

INTERVENTION_WORDS = (
    "open", "claim", "show", "resume", "update", "wait", "resolve",
    "reassign", "quote", "refuse", "snooze", "list", "help",
)  # fmt: skip
SLA_WORDS = ("status", "report", "credit", "silence", "help")


def register(app: AsyncApp, messages: Messages) -> None:
    """Attach the slash command listeners to `app`."""

    async def handle_intervention_command(ack: AsyncAck, command: dict[str, Any]) -> None:
        async def reply() -> str:
            return dispatch(command, INTERVENTION_WORDS, messages)

        await ack_with_reply(ack, reply, messages)

    async def handle_sla_command(ack: AsyncAck, command: dict[str, Any]) -> None:
        async def reply() -> str:
            return dispatch(command, SLA_WORDS, messages)

        await ack_with_reply(ack, reply, messages)

    app.command("/intervention")(handle_intervention_command)
    app.command("/sla")(handle_sla_command)


def dispatch(command: dict[str, Any], words: tuple[str, ...], messages: Messages) -> str:
    """Text of the reply to a slash command (help for now; later issues add the rest)."""
    name = str(command.get("command", ""))
    text = str(command.get("text", "")).strip()
    word = text.split(maxsplit=1)[0].lower() if text else "help"
    if word == "help":
        return messages.get("help.intervention" if name == "/intervention" else "help.sla")
    if word not in words:
        raise UserFacingError("error.unknown_subcommand", word=escape(word[:40]), command=name)
    return messages.get("error.not_available", command=name, word=word)


def escape(text: str) -> str:
    """Escape user text for Slack mrkdwn so `<!channel>` pings nobody."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
