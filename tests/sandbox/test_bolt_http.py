"""Signed requests from the emulator reach a real Bolt app over HTTP, and its answers come back."""

from __future__ import annotations

import pytest
from slack_sdk import WebClient

from bot.sandbox import EmulatorThread
from tests.sandbox.conftest import NOTE_MODAL, TinyBot

ALERTS = "C01ALERTS"
TECH = "U01TECH"


@pytest.fixture(autouse=True)
def workspace(slack: EmulatorThread) -> None:
    slack.add_channel(ALERTS, name="alerts")
    slack.add_user(TECH, "alice")


def test_signed_slash_command_gets_the_ack_text_back(
    slack: EmulatorThread, http_bot: TinyBot
) -> None:
    reply = slack.send_slash_command("/intervention", "show 42", user_id=TECH, channel_id=ALERTS)
    assert (reply.status, reply.text) == (200, "got show 42")
    assert reply.seconds > 0
    assert not reply.late  # within Slack's 3 s
    (command,) = http_bot.commands
    assert command["user_id"] == TECH
    assert command["channel_name"] == "alerts"
    assert command["response_url"].startswith(slack.base_url)


def test_forged_signature_is_refused_with_401(slack: EmulatorThread, http_bot: TinyBot) -> None:
    reply = slack.send_slash_command(
        "/intervention", "show 42", user_id=TECH, channel_id=ALERTS, forge_signature=True
    )
    assert reply.status == 401
    assert http_bot.commands == []


def test_in_channel_response_url_post_is_recorded_and_shown(
    slack: EmulatorThread, http_bot: TinyBot
) -> None:
    reply = slack.send_slash_command("/intervention", "announce", user_id=TECH, channel_id=ALERTS)
    assert reply.status == 200
    (response,) = slack.responses(user_id=TECH)
    assert (response.response_type, response.text, response.origin) == (
        "in_channel",
        "announced",
        "slash_command",
    )
    assert [m.text for m in slack.messages(ALERTS)] == ["announced"]


def test_button_click_reaches_the_app_and_replace_original_edits_the_message(
    slack: EmulatorThread, http_bot: TinyBot, slack_client: WebClient
) -> None:
    button = {
        "type": "button",
        "action_id": "acknowledge",
        "value": "outage-3",
        "text": {"type": "plain_text", "text": "Ack"},
    }
    posted = slack_client.chat_postMessage(
        channel=ALERTS,
        text="acme-web-01 is down",
        blocks=[{"type": "actions", "block_id": "outage", "elements": [button]}],
    )
    reply = slack.click(ALERTS, posted["ts"], "acknowledge", user_id=TECH)
    assert reply.status == 200
    (action,) = http_bot.actions
    assert action["actions"][0]["value"] == "outage-3"
    assert action["actions"][0]["block_id"] == "outage"
    assert action["container"]["message_ts"] == posted["ts"]
    message = slack.message(ALERTS, posted["ts"])
    assert message.text == f"acknowledged by <@{TECH}>"
    assert message.edited
    with pytest.raises(LookupError):
        slack.click(ALERTS, posted["ts"], "silence", user_id=TECH)


def test_modal_opened_from_a_command_is_submitted_back_to_the_app(
    slack: EmulatorThread, http_bot: TinyBot
) -> None:
    slack.send_slash_command("/intervention", "note", user_id=TECH, channel_id=ALERTS)
    (view,) = slack.views(user_id=TECH)
    assert (view.callback_id, view.private_metadata) == (NOTE_MODAL, "INT-7")

    empty = slack.submit_view(view, {"note": {"text": {"type": "plain_text_input", "value": ""}}})
    assert empty.json() == {"response_action": "errors", "errors": {"note": "required"}}
    done = slack.submit_view(
        view, {"note": {"text": {"type": "plain_text_input", "value": "rebooted"}}}
    )
    assert (done.status, done.body) == (200, "")
    assert http_bot.submissions[-1]["private_metadata"] == "INT-7"


def test_event_and_its_http_retry_both_reach_the_app(
    slack: EmulatorThread, http_bot: TinyBot
) -> None:
    event = {"type": "app_mention", "user": TECH, "text": "<@U0SUPPORTBOT> hi", "channel": ALERTS}
    first = slack.send_event(event, event_id="Ev01")
    retry = slack.send_event(event, event_id="Ev01", retry_num=1)
    assert (first.status, retry.status) == (200, 200)
    assert [e["event_id"] for e in http_bot.events] == ["Ev01", "Ev01"]
