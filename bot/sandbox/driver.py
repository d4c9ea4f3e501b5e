"""What Slack sends to a bot: signed requests; payloads of commands, clicks, submissions, events.

Builders return the payload exactly as Slack shapes it for HTTP and Socket Mode; signing follows
https://api.slack.com/authentication/verifying-requests-from-slack (v0, HMAC-SHA256).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from typing import Any

from bot.sandbox.records import JsonDict, Message, iter_elements
from bot.sandbox.workspace import Workspace


def sign(signing_secret: str, timestamp: int, body: str) -> str:
    """The X-Slack-Signature of `body` sent at `timestamp`."""
    base = f"v0:{timestamp}:{body}".encode()
    return "v0=" + hmac.new(signing_secret.encode(), base, hashlib.sha256).hexdigest()


def signed_headers(
    signing_secret: str, body: str, *, timestamp: int | None = None, forge: bool = False
) -> dict[str, str]:
    """Slack's signature headers for `body`; `forge` signs with a wrong secret."""
    sent_at = int(time.time()) if timestamp is None else timestamp
    secret = secrets.token_hex(16) if forge else signing_secret
    return {
        "X-Slack-Request-Timestamp": str(sent_at),
        "X-Slack-Signature": sign(secret, sent_at, body),
    }


def _user(ws: Workspace, user_id: str) -> JsonDict:
    ws.ensure_user(user_id)
    name = ws.user_name(user_id)
    return {"id": user_id, "username": name, "name": name, "team_id": ws.team_id}


def _team(ws: Workspace) -> JsonDict:
    return {"id": ws.team_id, "domain": "sandbox"}


def slash_command(
    ws: Workspace, command: str, text: str, *, user_id: str, channel_id: str
) -> dict[str, str]:
    """The form fields of a slash command invocation (the Socket Mode payload is the same dict)."""
    ws.ensure_user(user_id)
    return {
        "token": "emulator-verification-token",
        "team_id": ws.team_id,
        "team_domain": "sandbox",
        "channel_id": channel_id,
        "channel_name": ws.channel_name(channel_id),
        "user_id": user_id,
        "user_name": ws.user_name(user_id),
        "command": command,
        "text": text,
        "api_app_id": ws.app_id,
        "is_enterprise_install": "false",
        "response_url": ws.issue_response_url("slash_command", user_id=user_id, channel=channel_id),
        "trigger_id": ws.issue_trigger_id(user_id),
    }


def block_actions(
    ws: Workspace,
    action_id: str,
    *,
    user_id: str,
    channel_id: str | None = None,
    message: Message | None = None,
    block_id: str | None = None,
    value: str | None = None,
    element: JsonDict | None = None,
) -> JsonDict:
    """A `block_actions` payload for one click; with `message`, the click is on that message."""
    channel_id = message.channel if message is not None else channel_id
    element = element or {}
    action: JsonDict = {
        "type": element.get("type", "button"),
        "action_id": action_id,
        "block_id": block_id or element.get("block_id") or secrets.token_urlsafe(4),
        "action_ts": f"{time.time():.6f}",
    }
    if "text" in element:
        action["text"] = element["text"]
    chosen = value if value is not None else element.get("value")
    if chosen is not None:
        action["value"] = chosen
    payload: JsonDict = {
        "type": "block_actions",
        "user": _user(ws, user_id),
        "api_app_id": ws.app_id,
        "token": "emulator-verification-token",
        "trigger_id": ws.issue_trigger_id(user_id),
        "team": _team(ws),
        "enterprise": None,
        "is_enterprise_install": False,
        "state": {"values": {}},
        "response_url": ws.issue_response_url(
            "block_actions",
            user_id=user_id,
            channel=channel_id,
            source_ts=message.ts if message is not None else None,
        ),
        "actions": [action],
    }
    if channel_id is not None:
        payload["channel"] = {"id": channel_id, "name": ws.channel_name(channel_id)}
    if message is not None:
        payload["message"] = message.to_payload()
        payload["container"] = {
            "type": "message",
            "message_ts": message.ts,
            "channel_id": message.channel,
            "is_ephemeral": False,
        }
        if message.thread_ts is not None:
            payload["container"]["thread_ts"] = message.thread_ts
    return payload


def find_element(message: Message, action_id: str) -> tuple[str, JsonDict]:
    """(block_id, element) of the interactive element `action_id` in a message; LookupError."""
    for block_id, element in iter_elements(message.blocks):
        if element["action_id"] == action_id:
            return block_id, element
    raise LookupError(
        f"message {message.ts} has no element {action_id!r} (has {message.action_ids()})"
    )


def view_submission(
    ws: Workspace,
    callback_id: str,
    values: dict[str, dict[str, Any]],
    *,
    user_id: str,
    private_metadata: str = "",
    view_id: str | None = None,
    view: JsonDict | None = None,
) -> JsonDict:
    """A `view_submission` payload; `values` is view.state.values (block_id -> action_id -> …)."""
    view_id = view_id or "V" + secrets.token_hex(5).upper()
    submitted: JsonDict = {
        "id": view_id,
        "team_id": ws.team_id,
        "type": "modal",
        "blocks": [],
        "title": {"type": "plain_text", "text": "Modal"},
        **(view or {}),
        "private_metadata": private_metadata,
        "callback_id": callback_id,
        "state": {"values": values},
        "hash": secrets.token_hex(8),
        "app_id": ws.app_id,
        "bot_id": ws.bot_id,
        "root_view_id": view_id,
        "previous_view_id": None,
    }
    return {
        "type": "view_submission",
        "team": _team(ws),
        "user": _user(ws, user_id),
        "api_app_id": ws.app_id,
        "token": "emulator-verification-token",
        "trigger_id": ws.issue_trigger_id(user_id),
        "view": submitted,
        "response_urls": [],
        "is_enterprise_install": False,
        "enterprise": None,
    }


def event_callback(ws: Workspace, event: JsonDict, *, event_id: str | None = None) -> JsonDict:
    """An Events API `event_callback` envelope around `event`."""
    return {
        "token": "emulator-verification-token",
        "team_id": ws.team_id,
        "api_app_id": ws.app_id,
        "event": event,
        "type": "event_callback",
        "event_id": event_id or "Ev" + secrets.token_hex(5).upper(),
        "event_time": int(time.time()),
        "authorizations": [
            {
                "enterprise_id": None,
                "team_id": ws.team_id,
                "user_id": ws.bot_user_id,
                "is_bot": True,
                "is_enterprise_install": False,
            }
        ],
        "is_ext_shared_channel": False,
        "event_context": secrets.token_urlsafe(12),
    }
