"""Fixtures for the local Slack emulator: a real server on 127.0.0.1, usable from sync tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from slack_sdk import WebClient

from bot.sandbox import EmulatorThread, SlackEmulator


@pytest.fixture
def slack() -> Iterator[EmulatorThread]:
    """A started emulator (rate limiting on, like Slack) on its own loop thread."""
    with EmulatorThread(SlackEmulator()) as emulator:
        yield emulator


@pytest.fixture
def slack_client(slack: EmulatorThread) -> WebClient:
    """A real slack_sdk WebClient holding the bot token, pointed at the emulator."""
    return WebClient(token=slack.bot_token, base_url=slack.api_url)
