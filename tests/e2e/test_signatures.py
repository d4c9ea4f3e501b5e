"""Slack's signature is checked on every request over HTTP, though the app reads the body
before Bolt does (`bot/app.py`, `slack_events`): a replay, a changed body or a forgery is
refused, whatever its shape."""

import time
from urllib.parse import urlencode

from bot.sandbox import driver
from tests.plugins.bot import ALERTS, TECH, RunningBot


def _form(bot: RunningBot, text: str = "help") -> str:
    fields = driver.slash_command(
        bot.slack.emulator, "/intervention", text, user_id=TECH, channel_id=ALERTS
    )
    return urlencode(fields)


def test_a_replayed_old_timestamp_is_refused(bot: RunningBot) -> None:
    body = _form(bot)
    old = int(time.time()) - 10 * 60
    assert bot.slack.send_http(body, timestamp=old).status == 401


def test_a_body_changed_after_signing_is_refused(bot: RunningBot) -> None:
    body = _form(bot)
    headers = driver.signed_headers(bot.slack.emulator.signing_secret, body)
    tampered = body.replace("help", "list")
    assert bot.slack.send_http(tampered, headers=headers).status == 401


def test_a_forged_json_event_is_refused(bot: RunningBot) -> None:
    body = '{"type": "event_callback", "event": {"type": "app_mention"}}'
    reply = bot.slack.send_http(body, "application/json", forge_signature=True)
    assert reply.status == 401


def test_a_forged_payload_form_is_refused(bot: RunningBot) -> None:
    body = urlencode({"payload": '{"type": "block_actions", "actions": []}'})
    assert bot.slack.send_http(body, forge_signature=True).status == 401


def test_a_good_signature_still_works(bot: RunningBot) -> None:
    assert bot.slack.send_http(_form(bot)).status == 200
