"""How the bot sets up Bolt: no false alarm at start; Slack's forms read as Bolt reads them."""

import logging

import pytest
from slack_bolt.async_app import AsyncApp
from slack_bolt.request.internals import parse_body
from slack_sdk.web.async_client import AsyncWebClient

import bot.app  # also installs the filter on Bolt's logger


def test_a_token_in_the_environment_does_not_warn_that_it_is_unused(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Bolt reads SLACK_BOT_TOKEN and warns that the given client wins over it: the client holds
    that very token, so the warning is dropped; Bolt's other warnings are kept."""
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-from-the-environment")
    with caplog.at_level(logging.WARNING, logger="slack_bolt"):
        app = AsyncApp(
            name="supportbot",
            client=AsyncWebClient(token="xoxb-from-the-environment"),
            signing_secret="secret",
        )
        app.logger.warning("another warning")
    assert [record.getMessage() for record in caplog.records] == ["another warning"]


@pytest.mark.parametrize(
    "form",
    [
        "command=%2Fintervention&text=&user_id=U01AAA",  # a command typed without text
        "command=%2Fintervention&text&user_id=U01AAA",  # a key without `=`: blank too
        "command=%2Fintervention&text=claim+1&text=show+1",  # repeated: the last one wins
        "command=%2Fintervention&text=claim+1&text=",  # the last one, even blank
        "text=a+%26text%3Db",  # `&` and `=` typed in the text stay in it
        "a=1&&b=2",  # an empty pair is skipped
    ],
)
def test_a_form_is_read_as_bolt_reads_it(form: str) -> None:
    """`read_body` replaced Bolt's `parse_body` for Slack's forms: it reads them the same way,
    blank values kept (an empty `text=` is an empty command, not a missing field) and the last
    value of a repeated key kept (Slack sends each key once; the body is signed, so nobody else
    can add one)."""
    for content_type in ("application/x-www-form-urlencoded", None):
        assert bot.app.read_body(form, content_type) == parse_body(form, content_type)
