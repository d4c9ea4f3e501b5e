"""manifest.yml and the code agree on the slash commands and interactivity."""

from pathlib import Path
from typing import Any

from bot.handlers.commands import COMMANDS

MANIFEST = Path(__file__).parents[1] / "manifest.yml"


def manifest() -> dict[str, Any]:
    import yaml

    return dict(yaml.safe_load(MANIFEST.read_text(encoding="utf-8")))


def test_manifest_declares_exactly_the_commands_the_bot_registers() -> None:
    """Every registered slash command is in the manifest, and nothing else is."""
    declared = {c["command"] for c in manifest()["features"]["slash_commands"]}
    assert declared == set(COMMANDS)


def test_manifest_enables_interactivity_and_the_scopes_the_bot_uses() -> None:
    """Buttons and modals need interactivity; posting, DMs and user groups need their scopes."""
    data = manifest()
    assert data["settings"]["interactivity"]["is_enabled"] is True
    scopes = set(data["oauth_config"]["scopes"]["bot"])
    assert {"chat:write", "commands", "im:write", "usergroups:read"} <= scopes
