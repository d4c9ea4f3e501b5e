"""The emulator answers slack_sdk's WebClient the way Slack does."""

from __future__ import annotations

import asyncio
import json

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.sandbox import EmulatorThread, SlackEmulator

ALERTS = "C01ALERTS"
TECH = "U01TECH"


@pytest.fixture
def client(slack: EmulatorThread, slack_client: WebClient) -> WebClient:
    slack.add_channel(ALERTS, name="alerts")
    slack.add_user(TECH, "alice")
    return slack_client


def error_of(call: object) -> str:
    assert isinstance(call, SlackApiError)
    return str(call.response["error"])


def section(text: str) -> dict[str, object]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def test_post_reply_and_update_are_stored_with_edit_history(
    slack: EmulatorThread, client: WebClient
) -> None:
    root = client.chat_postMessage(channel=ALERTS, text="down", blocks=[section("*down*")])
    reply = client.chat_postMessage(channel=ALERTS, text="detail", thread_ts=root["ts"])
    client.chat_update(channel=ALERTS, ts=root["ts"], text="up again")

    first, detail = slack.messages(ALERTS)
    assert detail.thread_ts == root["ts"] == first.ts
    assert reply["ts"] > root["ts"]
    assert first.text == "up again"
    assert first.blocks == [section("*down*")]
    assert [e.text for e in first.edits] == ["down"]
    assert slack.thread(ALERTS, detail.ts) == [first, detail]
    assert slack.root(ALERTS, detail.ts) == first
    assert root["message"]["bot_id"] == slack.bot_id


def test_a_reply_to_a_reply_lands_in_the_same_thread(
    slack: EmulatorThread, client: WebClient
) -> None:
    root = client.chat_postMessage(channel=ALERTS, text="root")
    reply = client.chat_postMessage(channel=ALERTS, text="a", thread_ts=root["ts"])
    client.chat_postMessage(channel=ALERTS, text="b", thread_ts=reply["ts"])
    assert [m.text for m in slack.thread(ALERTS, root["ts"])] == ["root", "a", "b"]


def test_ts_are_strictly_increasing_in_slack_format(
    slack: EmulatorThread, client: WebClient
) -> None:
    slack.rate_limit = False
    stamps = [client.chat_postMessage(channel=ALERTS, text=str(i))["ts"] for i in range(20)]
    assert stamps == sorted(set(stamps), key=float)
    assert all(len(ts.split(".")[1]) == 6 for ts in stamps)


def test_dm_by_user_id_and_by_conversations_open_is_one_stable_channel(
    slack: EmulatorThread, client: WebClient
) -> None:
    opened = client.conversations_open(users=TECH)["channel"]["id"]
    again = client.conversations_open(users=TECH)["channel"]["id"]
    by_user = client.chat_postMessage(channel=TECH, text="breach soon")
    client.chat_postMessage(channel=opened, text="nudge")
    assert opened == again == by_user["channel"]
    assert opened.startswith("D")
    assert [m.text for m in slack.dms(TECH)] == ["breach soon", "nudge"]


def test_ephemeral_is_stored_apart_and_visible_to_one_user(
    slack: EmulatorThread, client: WebClient
) -> None:
    answer = client.chat_postEphemeral(channel=ALERTS, user=TECH, text="usage: …")
    assert answer["message_ts"]
    assert slack.messages(ALERTS) == []
    (only,) = slack.ephemerals(user_id=TECH)
    assert only.text == "usage: …"
    assert only.channel == ALERTS
    assert slack.ephemerals(user_id="U0OTHER") == []


def test_bad_token_is_invalid_auth_with_http_200(slack: EmulatorThread, client: WebClient) -> None:
    bad = WebClient(token="xoxb-wrong", base_url=slack.api_url)
    with pytest.raises(SlackApiError) as raised:
        bad.chat_postMessage(channel=ALERTS, text="x")
    assert raised.value.response.status_code == 200
    assert error_of(raised.value) == "invalid_auth"
    with pytest.raises(SlackApiError) as missing:
        WebClient(base_url=slack.api_url).auth_test()
    assert error_of(missing.value) == "not_authed"
    assert slack.messages(ALERTS) == []


def test_auth_test_describes_the_bot(slack: EmulatorThread, client: WebClient) -> None:
    me = client.auth_test()
    assert (me["user_id"], me["bot_id"], me["team_id"]) == (
        slack.bot_user_id,
        slack.bot_id,
        slack.team_id,
    )


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"channel": "C0NOPE", "text": "x"}, "channel_not_found"),
        ({"channel": "U0NOBODY", "text": "x"}, "channel_not_found"),
        ({"channel": ALERTS, "text": "x", "thread_ts": "1.000001"}, "thread_not_found"),
        ({"channel": ALERTS, "text": "x" * 40_001}, "msg_too_long"),
        ({"channel": ALERTS, "text": "x", "blocks": [section("x")] * 51}, "invalid_blocks"),
        ({"channel": ALERTS, "text": "x", "blocks": [section("x" * 3_001)]}, "invalid_blocks"),
        ({"channel": ALERTS, "text": "x", "blocks": [{"text": "no type"}]}, "invalid_blocks"),
        pytest.param(
            {"channel": ALERTS},
            "no_text",
            marks=pytest.mark.filterwarnings("ignore:The top-level `text`:UserWarning"),
        ),
    ],
)
def test_post_message_rejections(
    slack: EmulatorThread, client: WebClient, kwargs: dict[str, object], error: str
) -> None:
    with pytest.raises(SlackApiError) as raised:
        client.chat_postMessage(**kwargs)  # type: ignore[arg-type]
    assert error_of(raised.value) == error
    assert slack.messages(ALERTS) == []


def test_limits_are_inclusive(slack: EmulatorThread, client: WebClient) -> None:
    client.chat_postMessage(channel=ALERTS, text="x" * 40_000, blocks=[section("y" * 3_000)] * 2)
    assert len(slack.messages(ALERTS)) == 1


def test_malformed_blocks_json_in_a_form_body_is_invalid_blocks(
    slack: EmulatorThread, client: WebClient
) -> None:
    with pytest.raises(SlackApiError) as raised:
        client.api_call(
            "chat.postMessage", data={"channel": ALERTS, "text": "x", "blocks": "[{oops"}
        )
    assert error_of(raised.value) == "invalid_blocks"
    client.api_call(
        "chat.postMessage",
        data={"channel": ALERTS, "text": "x", "blocks": json.dumps([section("form")])},
    )
    assert slack.messages(ALERTS)[0].blocks == [section("form")]


def test_update_of_unknown_ts_is_message_not_found(client: WebClient) -> None:
    with pytest.raises(SlackApiError) as raised:
        client.chat_update(channel=ALERTS, ts="1.000001", text="x")
    assert error_of(raised.value) == "message_not_found"


def test_channel_without_the_bot_answers_not_in_channel(
    slack: EmulatorThread, client: WebClient
) -> None:
    slack.set_membership(ALERTS, is_member=False)
    with pytest.raises(SlackApiError) as raised:
        client.chat_postMessage(channel=ALERTS, text="x")
    assert error_of(raised.value) == "not_in_channel"


def test_unknown_method_is_unknown_method(client: WebClient) -> None:
    with pytest.raises(SlackApiError) as raised:
        client.api_call("chat.teleport")
    assert error_of(raised.value) == "unknown_method"


def test_users_info_and_usergroup_members(slack: EmulatorThread, client: WebClient) -> None:
    slack.add_usergroup("S0ONCALL", [TECH, "U02BOB"])
    assert client.users_info(user=TECH)["user"]["name"] == "alice"
    assert client.usergroups_users_list(usergroup="S0ONCALL")["users"] == [TECH, "U02BOB"]
    with pytest.raises(SlackApiError) as raised:
        client.users_info(user="U0NOBODY")
    assert error_of(raised.value) == "user_not_found"


def test_views_open_only_accepts_trigger_ids_the_emulator_issued_once(
    slack: EmulatorThread, client: WebClient
) -> None:
    view = {"type": "modal", "title": {"type": "plain_text", "text": "T"}, "blocks": []}
    with pytest.raises(SlackApiError) as raised:
        client.views_open(trigger_id="123.456.abc", view=view)
    assert error_of(raised.value) == "invalid_trigger_id"
    trigger_id = slack.issue_trigger_id(TECH)
    client.views_open(trigger_id=trigger_id, view=view)
    with pytest.raises(SlackApiError) as reused:
        client.views_open(trigger_id=trigger_id, view=view)
    assert error_of(reused.value) == "exchanged_trigger_id"
    assert [v.user for v in slack.views()] == [TECH]


def test_observer_sees_every_post_and_update(slack: EmulatorThread, client: WebClient) -> None:
    seen: list[tuple[str, str | None, str, str]] = []
    slack.on_message(lambda *message: seen.append(message))
    root = client.chat_postMessage(channel=ALERTS, text="one")
    client.chat_postMessage(channel=ALERTS, text="two", thread_ts=root["ts"])
    client.chat_update(channel=ALERTS, ts=root["ts"], text="one bis")
    assert [(thread_ts, text) for _, thread_ts, _, text in seen] == [
        (None, "one"),
        (root["ts"], "two"),
        (None, "one bis"),
    ]


def test_emulator_runs_on_the_callers_loop() -> None:
    async def scenario() -> str:
        emulator = SlackEmulator(rate_limit=False)
        emulator.add_channel(ALERTS)
        await emulator.start()
        try:
            client = AsyncWebClient(token=emulator.bot_token, base_url=emulator.api_url)
            posted = await client.chat_postMessage(channel=ALERTS, text="async")
            return str(posted["ts"])
        finally:
            await emulator.stop()

    assert "." in asyncio.run(scenario())
