"""Slack's message size and Block Kit limits, checked the way the Web API rejects a message.

Only the limits a bot can realistically hit are checked; each violation yields the JSON pointer
and wording Slack puts in `response_metadata.messages` next to `invalid_blocks`.
"""

from __future__ import annotations

import json
from typing import Any

MAX_TEXT_CHARS = 40_000
MAX_MESSAGE_BLOCKS = 50
MAX_VIEW_BLOCKS = 100
MAX_SECTION_TEXT = 3_000
MAX_SECTION_FIELDS = 10
MAX_FIELD_TEXT = 2_000
MAX_HEADER_TEXT = 150
MAX_BLOCK_ID = 255
MAX_ACTION_ID = 255
MAX_BUTTON_TEXT = 75
MAX_BUTTON_VALUE = 2_000
MAX_ACTIONS_ELEMENTS = 25
MAX_CONTEXT_ELEMENTS = 10
MAX_CONTEXT_TEXT = 3_000

KNOWN_BLOCK_TYPES = frozenset(
    {
        "actions",
        "context",
        "divider",
        "file",
        "header",
        "image",
        "input",
        "markdown",
        "rich_text",
        "section",
        "video",
        "table",
        "context_actions",
    }
)


class BlocksError(Exception):
    """Blocks Slack would refuse, with its `invalid_blocks` detail messages."""

    def __init__(self, messages: tuple[str, ...]) -> None:
        super().__init__(*messages)
        self.messages = messages

    def __str__(self) -> str:
        return "; ".join(self.messages)


def parse_blocks(raw: Any, *, max_blocks: int = MAX_MESSAGE_BLOCKS) -> list[dict[str, Any]]:
    """Blocks from a JSON string or list, checked against Slack's limits; raises BlocksError."""
    if raw is None or raw == "":
        return []
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise BlocksError((f"invalid JSON: {exc.msg}",)) from exc
    if not isinstance(raw, list):
        raise BlocksError(("must provide an array [json-pointer:/blocks]",))
    problems: list[str] = []
    if len(raw) > max_blocks:
        problems.append(f"no more than {max_blocks} items allowed [json-pointer:/blocks]")
    for index, block in enumerate(raw):
        problems.extend(_block_problems(block, f"/blocks/{index}"))
    if problems:
        raise BlocksError(tuple(problems))
    return raw


def text_too_long(text: str) -> bool:
    """Whether `text` exceeds what chat.postMessage accepts (`msg_too_long`)."""
    return len(text) > MAX_TEXT_CHARS


def _too_long(value: Any, limit: int, pointer: str) -> list[str]:
    if isinstance(value, str) and len(value) > limit:
        return [f"must be less than {limit + 1} characters [json-pointer:{pointer}]"]
    return []


def _text_object(obj: Any, limit: int, pointer: str) -> list[str]:
    if obj is None:
        return []
    if not isinstance(obj, dict) or obj.get("type") not in ("plain_text", "mrkdwn"):
        return [f"must be a text object [json-pointer:{pointer}]"]
    if not isinstance(obj.get("text"), str):
        return [f"must provide a string [json-pointer:{pointer}/text]"]
    return _too_long(obj["text"], limit, f"{pointer}/text")


def _element_problems(element: Any, pointer: str) -> list[str]:
    if not isinstance(element, dict) or not isinstance(element.get("type"), str):
        return [f"must provide an object with a type [json-pointer:{pointer}]"]
    problems = _too_long(element.get("action_id"), MAX_ACTION_ID, f"{pointer}/action_id")
    if element["type"] == "button":
        problems += _text_object(element.get("text"), MAX_BUTTON_TEXT, f"{pointer}/text")
        problems += _too_long(element.get("value"), MAX_BUTTON_VALUE, f"{pointer}/value")
    return problems


def _block_problems(block: Any, pointer: str) -> list[str]:
    if not isinstance(block, dict) or not isinstance(block.get("type"), str):
        return [f"must provide an object with a type [json-pointer:{pointer}]"]
    kind = block["type"]
    if kind not in KNOWN_BLOCK_TYPES:
        return [f"unknown block type {kind!r} [json-pointer:{pointer}/type]"]
    problems = _too_long(block.get("block_id"), MAX_BLOCK_ID, f"{pointer}/block_id")
    if kind == "section":
        if block.get("text") is None and not block.get("fields"):
            problems.append(f"must provide text or fields [json-pointer:{pointer}]")
        problems += _text_object(block.get("text"), MAX_SECTION_TEXT, f"{pointer}/text")
        fields = block.get("fields") or []
        if len(fields) > MAX_SECTION_FIELDS:
            problems.append(
                f"no more than {MAX_SECTION_FIELDS} items allowed [json-pointer:{pointer}/fields]"
            )
        for index, text in enumerate(fields):
            problems += _text_object(text, MAX_FIELD_TEXT, f"{pointer}/fields/{index}")
        if block.get("accessory") is not None:
            problems += _element_problems(block["accessory"], f"{pointer}/accessory")
    elif kind == "header":
        problems += _text_object(block.get("text"), MAX_HEADER_TEXT, f"{pointer}/text")
    elif kind in ("actions", "context"):
        elements = block.get("elements")
        limit = MAX_ACTIONS_ELEMENTS if kind == "actions" else MAX_CONTEXT_ELEMENTS
        if not isinstance(elements, list) or not elements:
            problems.append(f"must provide a non-empty array [json-pointer:{pointer}/elements]")
        elif len(elements) > limit:
            problems.append(f"no more than {limit} items allowed [json-pointer:{pointer}/elements]")
        elif kind == "actions":
            for index, element in enumerate(elements):
                problems += _element_problems(element, f"{pointer}/elements/{index}")
        else:  # a context's text objects: 3,000 characters, as any
            for index, element in enumerate(elements):
                if isinstance(element, dict) and element.get("type") in ("plain_text", "mrkdwn"):
                    problems += _text_object(
                        element, MAX_CONTEXT_TEXT, f"{pointer}/elements/{index}"
                    )
    return problems
