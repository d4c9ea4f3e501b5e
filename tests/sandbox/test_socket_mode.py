"""A Bolt app connects over Socket Mode with only base_url changed, and envelopes get acked."""

from __future__ import annotations

import asyncio
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.sandbox import BotReply, EmulatorThread, LoopThread
from tests.sandbox.conftest import TinyBot

ALERTS = "C01ALERTS"
TECH = "U01TECH"


@pytest.fixture(autouse=True)
def workspace(slack: EmulatorThread) -> None:
    slack.add_channel(ALERTS, name="alerts")
    slack.add_user(TECH, "alice")


def test_bot_connects_with_apps_connections_open(
    slack: EmulatorThread, socket_bot: TinyBot
) -> None:
    assert slack.socket_connections == 1
    (opened,) = slack.calls_to("apps.connections.open")
    assert opened.ok


def test_slash_command_over_socket_returns_the_ack_payload(
    slack: EmulatorThread, socket_bot: TinyBot
) -> None:
    reply = slack.send_slash_command(
        "/intervention", "show 42", user_id=TECH, channel_id=ALERTS, via="socket"
    )
    assert (reply.via, reply.text) == ("socket", "got show 42")
    assert reply.seconds > 0
    assert not reply.late  # within Slack's 3 s
    assert reply.envelope_id is not None
    assert socket_bot.commands[0]["text"] == "show 42"


def test_redelivered_envelope_keeps_its_id_and_counts_the_attempt(
    slack: EmulatorThread, socket_bot: TinyBot
) -> None:
    event = {"type": "app_mention", "user": TECH, "text": "hi", "channel": ALERTS}
    first = slack.send_event(event, via="socket")
    assert first.envelope_id is not None
    again = slack.redeliver(first.envelope_id)
    assert again.envelope_id == first.envelope_id
    assert [a["envelope_id"] for a in slack.socket_acks] == [first.envelope_id] * 2
    assert [e["event_id"] for e in socket_bot.events] == [socket_bot.events[0]["event_id"]] * 2


def test_button_click_and_modal_submission_over_socket(
    slack: EmulatorThread, socket_bot: TinyBot
) -> None:
    slack.send_slash_command("/intervention", "note", user_id=TECH, channel_id=ALERTS, via="socket")
    (view,) = slack.views()
    reply = slack.submit_view(
        view, {"note": {"text": {"type": "plain_text_input", "value": "ok"}}}, via="socket"
    )
    assert reply.status == 200
    assert socket_bot.submissions[0]["callback_id"] == view.callback_id

    slack.send_block_action("acknowledge", user_id=TECH, channel_id=ALERTS, via="socket")
    assert socket_bot.actions[0]["actions"][0]["action_id"] == "acknowledge"
    (response,) = slack.responses()
    assert response.replace_original
    assert response.origin == "block_actions"


def test_a_disconnect_is_followed_by_a_new_connection_and_the_old_one_closed(
    slack: EmulatorThread, socket_bot: TinyBot
) -> None:
    """Slack's `disconnect` (refresh_requested): the client asks for a new URL and connects;
    the old connection is closed a moment later, and envelopes go on reaching the app."""
    slack.disconnect_sockets("refresh_requested", close_after_s=0.2)
    slack.wait_until(lambda: len(slack.calls_to("apps.connections.open")) == 2 or None)
    time.sleep(0.4)  # the old connection closed by now
    slack.wait_until(lambda: slack.socket_connections == 1 or None)
    reply = slack.send_slash_command(
        "/intervention", "show 1", user_id=TECH, channel_id=ALERTS, via="socket"
    )
    assert reply.text == "got show 1"


def test_an_event_whose_connection_dropped_unacked_is_delivered_again(
    slack: EmulatorThread,
) -> None:
    """A network cut: the client reconnects, and the event sent over the cut connection (never
    acked there) comes again over the new one, with the next retry_attempt."""
    loop = LoopThread("tiny-socket-bot")
    loop.start()
    seen = TinyBot(loop)
    app = AsyncApp(
        client=AsyncWebClient(token=slack.bot_token, base_url=slack.api_url),
        signing_secret=slack.signing_secret,
        process_before_response=True,
    )
    blocked = threading.Event()

    @app.event("app_mention")
    async def hold(body: dict[str, Any]) -> None:  # the first is not acked while connected
        seen.events.append(body)
        if len(seen.events) == 1:
            await asyncio.to_thread(blocked.wait, 5)

    async def connect() -> AsyncSocketModeHandler:
        handler = AsyncSocketModeHandler(app, slack.app_token, ping_interval=0.5)
        await handler.connect_async()  # type: ignore[no-untyped-call]
        return handler

    handler = loop.run(connect(), 5)
    try:
        slack.wait_for_socket(5)
        with ThreadPoolExecutor(1) as pool:
            event = {"type": "app_mention", "user": TECH, "text": "hi", "channel": ALERTS}
            sent = pool.submit(slack.send_event, event, via="socket")
            slack.wait_until(lambda: seen.events or None)
            slack.drop_sockets()  # the client may be connected again already: the count races
            blocked.set()
            reply = sent.result(10)
        assert len(slack.calls_to("apps.connections.open")) == 2
        assert reply.envelope_id is not None
        assert slack.sent_envelope(reply.envelope_id)["retry_attempt"] == 1
        slack.wait_until(lambda: len(seen.events) == 2 or None)
        assert seen.events[1]["event_id"] == seen.events[0]["event_id"]
    finally:
        loop.run(handler.close_async(), 5)  # type: ignore[no-untyped-call]
        loop.stop()


def test_an_answer_after_three_seconds_is_late() -> None:
    """Slack waits 3 s for an answer; a later one is thrown away."""
    assert not BotReply(200, "", "socket", seconds=2.9).late
    assert BotReply(200, "", "http", seconds=3.1).late
