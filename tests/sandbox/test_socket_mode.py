"""A Bolt app connects over Socket Mode with only base_url changed, and envelopes get acked."""

from __future__ import annotations

import pytest

from bot.sandbox import EmulatorThread
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
