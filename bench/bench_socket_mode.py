"""How long the bot's Socket Mode connection takes to come back after a network cut.

The bot's own handler (`bot.app._SocketModeHandler`, with the ping interval it uses unless told
otherwise) connects to the emulator; each trial cuts the connection and times until a new one is
open (apps.connections.open answered and the WebSocket's `hello` received), which is when Slack
can deliver a slash command again. Two kinds of cut:

- `drop`: the connection is reset (no close frame): the client's socket sees it at once;
- `silent`: nothing crosses any more and nothing closes (packets lost): only unanswered pings
  tell.

Then `--slow` seconds of pong delay (a slow but alive link) for `--watch` seconds: the number of
reconnections it caused, which must be 0. The emulator runs in this process.
Run: .venv/bin/python bench/bench_socket_mode.py [--trials 5] [--ping-interval 10]
        [--slow 1.0] [--watch 30]
"""

import argparse
import asyncio
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from slack_bolt.async_app import AsyncApp
from slack_bolt.response import BoltResponse
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.web.async_client import AsyncWebClient

from bot.app import SOCKET_MODE_PING_INTERVAL, _SocketModeHandler
from bot.sandbox import EmulatorThread, LoopThread


async def _lost(req: SocketModeRequest, response: BoltResponse) -> None:
    print(f"an ack was lost: {req.type}", file=sys.stderr)


async def _connect(slack: EmulatorThread, ping_interval: float) -> _SocketModeHandler:
    """The bot's handler, connected (built on the loop: its aiohttp session belongs there)."""
    app = AsyncApp(
        client=AsyncWebClient(token=slack.bot_token, base_url=slack.api_url),
        signing_secret=slack.signing_secret,
    )
    handler = _SocketModeHandler(app, slack.app_token, lost=_lost, ping_interval=ping_interval)
    await handler.connect_async()  # type: ignore[no-untyped-call]
    return handler


def _opened(slack: EmulatorThread) -> int:
    return len(slack.calls_to("apps.connections.open"))


def _wait_reconnected(slack: EmulatorThread, opened: int, timeout_s: float) -> float:
    """Seconds until a connection opened after the `opened`-th is up."""
    started = time.perf_counter()
    while not (_opened(slack) > opened and slack.socket_connections >= 1):
        if time.perf_counter() - started > timeout_s:
            raise TimeoutError(f"no new connection within {timeout_s} s")
        time.sleep(0.01)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=5)
    parser.add_argument("--ping-interval", type=float, default=SOCKET_MODE_PING_INTERVAL)
    parser.add_argument("--slow", type=float, default=1.0, help="pong delay of the slow link")
    parser.add_argument("--watch", type=float, default=30.0, help="seconds on the slow link")
    args = parser.parse_args()

    loop = LoopThread("bench-socket-mode")
    with EmulatorThread() as slack:
        loop.start()
        handler = loop.run(_connect(slack, args.ping_interval), 30)
        slack.wait_for_socket(10)
        try:
            print(f"ping interval {args.ping_interval:g} s")
            for cut in ("drop", "silent"):
                phases, times = random.Random(cut), []
                for _ in range(args.trials):
                    opened = _opened(slack)
                    # A cut lands anywhere in the ping cycle (the same places at each run).
                    time.sleep(phases.uniform(0.2, 1.2) * args.ping_interval)
                    slack.drop_sockets() if cut == "drop" else slack.silence_sockets()
                    times.append(_wait_reconnected(slack, opened, 20 * args.ping_interval))
                print(
                    f"{cut:>6}: reconnected in {statistics.median(times):.1f} s median, "
                    f"{min(times):.1f}-{max(times):.1f} s over {len(times)} cuts"
                )
            opened = _opened(slack)
            slack.delay_pongs(args.slow)
            time.sleep(args.watch)
            slack.delay_pongs(0)
            print(
                f"  slow: {_opened(slack) - opened} reconnection(s) in {args.watch:g} s "
                f"with pings answered {args.slow:g} s late"
            )
        finally:
            loop.run(asyncio.wait_for(handler.close_async(), 10))  # type: ignore[no-untyped-call]
            loop.stop()


if __name__ == "__main__":
    main()
