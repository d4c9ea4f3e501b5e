"""Immutable snapshots of what the emulated Slack workspace holds, handed to tests and observers."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal

JsonDict = dict[str, Any]
Via = Literal["http", "socket"]


@dataclass(frozen=True)
class Edit:
    """A previous version of a message, kept when `chat.update` replaced it."""

    text: str
    blocks: list[JsonDict]
    replaced_at: float


@dataclass(frozen=True)
class Message:
    """A channel or DM message; `thread_ts` is the root's ts for a reply and None for a root."""

    channel: str
    ts: str
    text: str
    blocks: list[JsonDict] = field(default_factory=list)
    thread_ts: str | None = None
    user: str = ""
    bot_id: str | None = None
    reply_broadcast: bool = False
    edits: tuple[Edit, ...] = ()
    posted_at: float = 0.0

    @property
    def is_reply(self) -> bool:
        """Whether the message was posted into a thread."""
        return self.thread_ts is not None

    @property
    def edited(self) -> bool:
        """Whether `chat.update` (or a `replace_original` response) changed it."""
        return bool(self.edits)

    def action_ids(self) -> list[str]:
        """The action_id of every interactive element in the message's blocks."""
        return [element["action_id"] for _, element in iter_elements(self.blocks)]

    def to_payload(self) -> JsonDict:
        """The message as Slack embeds it in interaction payloads."""
        payload: JsonDict = {
            "type": "message",
            "user": self.user,
            "ts": self.ts,
            "text": self.text,
            "blocks": self.blocks,
        }
        if self.bot_id is not None:
            payload["bot_id"] = self.bot_id
        if self.thread_ts is not None:
            payload["thread_ts"] = self.thread_ts
        return payload


@dataclass(frozen=True)
class Ephemeral:
    """A message only `user` saw: from `chat.postEphemeral` or an ephemeral response_url post."""

    channel: str
    ts: str
    user: str
    text: str
    blocks: list[JsonDict] = field(default_factory=list)
    thread_ts: str | None = None
    source: Literal["chat.postEphemeral", "response_url"] = "chat.postEphemeral"
    posted_at: float = 0.0


@dataclass(frozen=True)
class ResponsePost:
    """One POST the bot made to a response_url the emulator handed out."""

    url: str
    origin: Literal["slash_command", "block_actions", "view_submission"]
    channel: str | None
    user: str
    response_type: str
    text: str
    blocks: list[JsonDict]
    replace_original: bool
    delete_original: bool
    thread_ts: str | None
    posted_at: float


@dataclass(frozen=True)
class OpenedView:
    """A modal the bot opened with `views.open`."""

    view_id: str
    trigger_id: str
    user: str
    view: JsonDict
    opened_at: float

    @property
    def callback_id(self) -> str:
        """The view's callback_id, or "" when the bot set none."""
        return str(self.view.get("callback_id", ""))

    @property
    def private_metadata(self) -> str:
        """The view's private_metadata, or ""."""
        return str(self.view.get("private_metadata", ""))


@dataclass(frozen=True)
class ApiCall:
    """One Web API call as the emulator answered it; `at` is time.monotonic() at the answer."""

    method: str
    at: float
    params: JsonDict
    status: int
    ok: bool
    error: str | None = None
    channel: str | None = None
    retry_after: int | None = None


ACK_DEADLINE_S = 3.0  # Slack's wait for an HTTP answer or a Socket Mode ack


@dataclass(frozen=True)
class BotReply:
    """What the bot answered to a request the emulator sent: HTTP response or Socket Mode ack.
    `seconds`: how long it took; Slack waits ACK_DEADLINE_S for it (`late` otherwise), then
    tells the user the app did not answer and throws the answer away."""

    status: int
    body: str
    via: Via
    envelope_id: str | None = None
    content_type: str = ""
    seconds: float = 0.0

    @property
    def late(self) -> bool:
        """Whether Slack would have given up on this answer (ACK_DEADLINE_S)."""
        return self.seconds > ACK_DEADLINE_S

    def json(self) -> Any:
        """The body parsed as JSON (an empty body is None)."""
        return json.loads(self.body) if self.body else None

    @property
    def text(self) -> str:
        """The reply's `text` when it is a JSON message, else the raw body."""
        if self.body.startswith("{"):
            parsed = self.json()
            if isinstance(parsed, dict) and isinstance(parsed.get("text"), str):
                return str(parsed["text"])
        return self.body


def iter_elements(blocks: list[JsonDict]) -> list[tuple[str, JsonDict]]:
    """(block_id, element) for every element carrying an action_id, in display order."""
    found: list[tuple[str, JsonDict]] = []
    for block in blocks:
        block_id = str(block.get("block_id", ""))
        candidates: list[Any] = list(block.get("elements") or [])
        if isinstance(block.get("accessory"), dict):
            candidates.append(block["accessory"])
        if isinstance(block.get("element"), dict):
            candidates.append(block["element"])
        found.extend(
            (block_id, element)
            for element in candidates
            if isinstance(element, dict) and "action_id" in element
        )
    return found
