"""The local Slack emulator: a real HTTP/WebSocket server for tests and the try-it-locally mode.

`SlackEmulator` runs on the caller's event loop; `EmulatorThread` runs one in a background thread
for sync code. Both read and seed the same `Workspace` state.
"""

from bot.sandbox.emulator import SlackEmulator, WorkspaceOptions
from bot.sandbox.limits import BlocksError, parse_blocks
from bot.sandbox.loop import LoopThread
from bot.sandbox.records import (
    ApiCall,
    BotReply,
    Edit,
    Ephemeral,
    Message,
    OpenedView,
    ResponsePost,
    Via,
)
from bot.sandbox.thread import EmulatorThread
from bot.sandbox.workspace import ApiResult, Workspace

__all__ = [
    "ApiCall",
    "ApiResult",
    "BlocksError",
    "BotReply",
    "Edit",
    "EmulatorThread",
    "Ephemeral",
    "LoopThread",
    "Message",
    "OpenedView",
    "ResponsePost",
    "SlackEmulator",
    "Via",
    "Workspace",
    "WorkspaceOptions",
    "parse_blocks",
]
