"""How the bot sets up Bolt: no false alarm at start."""

import logging

import pytest
from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

import bot.app  # noqa: F401 (installs the filter on Bolt's logger)


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
