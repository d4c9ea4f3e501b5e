"""A minimal real Bolt AsyncApp, served over HTTP or connected over Socket Mode to the emulator."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.sandbox import EmulatorThread, LoopThread

NOTE_MODAL = "note_modal"


@dataclass
class TinyBot:
    """What the tiny app saw; it runs on `loop`."""

    loop: LoopThread
    commands: list[dict[str, Any]] = field(default_factory=list)
    actions: list[dict[str, Any]] = field(default_factory=list)
    submissions: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    url: str = ""


def build_app(slack: EmulatorThread, seen: TinyBot) -> AsyncApp:
    """A Bolt app with one listener of each kind, talking to the emulator's Web API."""
    app = AsyncApp(
        client=AsyncWebClient(token=slack.bot_token, base_url=slack.api_url),
        signing_secret=slack.signing_secret,
        process_before_response=True,
    )

    @app.command("/intervention")
    async def handle_intervention_command(
        ack: AsyncAck, command: dict[str, Any], client: AsyncWebClient, respond: AsyncRespond
    ) -> None:
        seen.commands.append(command)
        if command["text"] == "note":
            await client.views_open(
                trigger_id=command["trigger_id"],
                view={
                    "type": "modal",
                    "callback_id": NOTE_MODAL,
                    "private_metadata": "INT-7",
                    "title": {"type": "plain_text", "text": "Note"},
                    "submit": {"type": "plain_text", "text": "Save"},
                    "blocks": [
                        {
                            "type": "input",
                            "block_id": "note",
                            "label": {"type": "plain_text", "text": "Note"},
                            "element": {"type": "plain_text_input", "action_id": "text"},
                        }
                    ],
                },
            )
            await ack()
        elif command["text"] == "announce":
            await ack()
            await respond(response_type="in_channel", text="announced")
        else:
            await ack(f"got {command['text']}")

    @app.action("acknowledge")
    async def handle_acknowledge_action(
        ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond
    ) -> None:
        seen.actions.append(body)
        await ack()
        await respond(replace_original=True, text=f"acknowledged by <@{body['user']['id']}>")

    @app.view(NOTE_MODAL)
    async def handle_note_submission(ack: AsyncAck, view: dict[str, Any]) -> None:
        seen.submissions.append(view)
        if not view["state"]["values"]["note"]["text"]["value"]:
            await ack(response_action="errors", errors={"note": "required"})
            return
        await ack()

    @app.event("app_mention")
    async def handle_mention_event(body: dict[str, Any]) -> None:
        seen.events.append(body)

    return app


@pytest.fixture
def http_bot(slack: EmulatorThread) -> Iterator[TinyBot]:
    """The tiny app served over HTTP on 127.0.0.1; the emulator's bot_url points at it."""
    loop = LoopThread("tiny-bot")
    loop.start()
    seen = TinyBot(loop)

    async def serve() -> web.AppRunner:
        runner = web.AppRunner(build_app(slack, seen).web_app(path="/slack/events"))
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        port = runner.addresses[0][1]
        seen.url = f"http://127.0.0.1:{port}/slack/events"
        return runner

    runner = loop.run(serve(), 5)
    slack.bot_url = seen.url
    try:
        yield seen
    finally:
        loop.run(runner.cleanup(), 5)
        loop.stop()


@pytest.fixture
def socket_bot(slack: EmulatorThread) -> Iterator[TinyBot]:
    """The tiny app connected over Socket Mode with AsyncSocketModeHandler, unchanged."""
    loop = LoopThread("tiny-socket-bot")
    loop.start()
    seen = TinyBot(loop)

    async def connect() -> AsyncSocketModeHandler:
        handler = AsyncSocketModeHandler(build_app(slack, seen), slack.app_token)
        await handler.connect_async()  # type: ignore[no-untyped-call]
        return handler

    handler = loop.run(connect(), 5)
    slack.wait_for_socket(5)
    try:
        yield seen
    finally:
        loop.run(handler.close_async(), 5)  # type: ignore[no-untyped-call]
        loop.stop()
