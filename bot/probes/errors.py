"""A probe's reason for failing, as stored and as shown.

A probe says why it failed as a message key of the catalog (`probe.error.…`) and its values,
stored as one string (`ProbeResult.error`, `probe_states.last_error`): a JSON object
`{"probe_error": key, "params": {...}}`. It is put in words where it is shown, in the team's
language (`describe`). A row written before the reasons were keys holds English text: that is
shown as it is, as is any string that is not such an object naming a key this version knows.

The values are what came from outside (a host name, an HTTP status, an exception's own
message, a keyword): the caller of `describe` escapes the text as it did the English one.
"""

import json
from collections.abc import Mapping

from bot.messages import CATALOG, Messages

Param = str | int | float
PREFIX = '{"probe_error":'
KEY_PREFIX = "probe.error."
ENGLISH = Messages("en")


def probe_error(key: str, /, **params: Param) -> str:
    """The stored form of the reason `key` (a `probe.error.…` key of the catalog) with
    `params`; floats (seconds) are written as the language writes numbers."""
    if not key.startswith(KEY_PREFIX) or key not in CATALOG:
        raise KeyError(key)
    return json.dumps(
        {"probe_error": key, "params": params}, ensure_ascii=False, separators=(",", ":")
    )


def decode(error: str) -> tuple[str, Mapping[str, Param]] | None:
    """(key, params) of a stored reason, or None for text (an older row's, say)."""
    if not error.startswith(PREFIX):
        return None
    try:
        value = json.loads(error)
    except ValueError:
        return None
    if not isinstance(value, dict) or set(value) != {"probe_error", "params"}:
        return None
    key, params = value["probe_error"], value["params"]
    if not isinstance(key, str) or not key.startswith(KEY_PREFIX) or key not in CATALOG:
        return None  # written by a newer version, say: shown as stored, nothing lost
    if not isinstance(params, dict) or not all(
        isinstance(v, str | int | float) and not isinstance(v, bool) for v in params.values()
    ):
        return None
    return key, params


def describe(error: str | None, messages: Messages) -> str | None:
    """The reason in the language of `messages`, not escaped; text that is not a stored key is
    returned as it is (an older row's English, an unknown key)."""
    if error is None:
        return None
    decoded = decode(error)
    if decoded is None:
        return error
    key, params = decoded
    values = {
        name: messages.number(value) if isinstance(value, float) else value
        for name, value in params.items()
    }
    try:
        return messages.get(key, **values)
    except (KeyError, IndexError, ValueError):  # values another version wrote
        return error


def english(error: str | None) -> str | None:
    """The reason in English: for logs, and for rules that read its words (`suggest_kind`)."""
    return describe(error, ENGLISH)
