"""The user group's members, read from Slack: a slow or failing read costs no command."""

import asyncio
from typing import Any

from bot.config import Team
from bot.handlers.access import Authorizer


class SlowSlack:
    """usergroups.users.list answering `members`, after `delay` seconds."""

    def __init__(self, members: list[str]) -> None:
        self.members = members
        self.delay = 0.0
        self.calls = 0

    async def usergroups_users_list(self, usergroup: str) -> dict[str, Any]:
        self.calls += 1
        await asyncio.sleep(self.delay)
        return {"ok": True, "users": self.members}


def test_a_slow_read_past_the_cache_keeps_the_last_members_and_is_shared() -> None:
    """Once the cache has expired, Slack slow to answer: technicians act on the members last
    read, at once; the callers share one read, whose answer serves once it comes."""
    slack = SlowSlack(["U05GROUP"])
    clock = [0.0]
    team = Team(usergroup="S01TECHS", alerts_channel="C01ALERTS")
    authorizer = Authorizer(team, slack, ttl_s=60, wait_s=0.05, monotonic=lambda: clock[0])  # type: ignore[arg-type]

    async def scenario() -> None:
        assert await authorizer.is_technician("U05GROUP")
        clock[0] = 61.0
        slack.delay, slack.members = 0.3, ["U05GROUP", "U06NEW"]
        answers = await asyncio.gather(*(authorizer.is_technician("U05GROUP") for _ in range(5)))
        assert answers == [True] * 5
        assert not await authorizer.is_technician("U06NEW")  # not read yet
        await asyncio.sleep(0.4)
        assert await authorizer.is_technician("U06NEW")
        assert slack.calls == 2

    asyncio.run(scenario())
