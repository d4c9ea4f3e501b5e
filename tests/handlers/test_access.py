"""The user group's members, read from Slack: a slow or failing read costs no command."""

import asyncio
from typing import Any

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.config import Team
from bot.errors import UserFacingError
from bot.handlers.access import RECHECK_S, STALE_LIMIT_S, Authorizer
from bot.sandbox import EmulatorThread


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


GROUP = "S01TECHS"
MEMBER = "U05GROUP"
NEWCOMER = "U06NEW"


def group_authorizer(slack: EmulatorThread, clock: list[float]) -> Authorizer:
    """An Authorizer of the user group GROUP, reading it from the emulator over HTTP, on a
    clock the test moves."""
    client = AsyncWebClient(token=slack.bot_token, base_url=slack.api_url)
    team = Team(technicians=["U01AAA"], usergroup=GROUP, alerts_channel="C01ALERTS")
    return Authorizer(team, client, monotonic=lambda: clock[0])


def test_a_member_added_to_the_group_is_a_technician_at_their_first_command(
    slack: EmulatorThread,
) -> None:
    """Members were read a few seconds ago; someone just added to the group, not among them,
    is looked for again rather than refused (and the refusal audited) for up to a minute."""
    slack.add_usergroup(GROUP, [MEMBER])
    clock = [0.0]
    authorizer = group_authorizer(slack, clock)

    async def scenario() -> None:
        assert await authorizer.is_technician(MEMBER)
        slack.add_usergroup(GROUP, [MEMBER, NEWCOMER])
        clock[0] = RECHECK_S
        assert await authorizer.is_technician(NEWCOMER)
        assert not await authorizer.is_technician("U09NOBODY")
        reads = len(slack.calls_to("usergroups.users.list"))
        clock[0] = RECHECK_S + 1  # an outsider again, just after a read: Slack is not asked
        assert not await authorizer.is_technician("U09NOBODY")
        assert await authorizer.is_technician(MEMBER)
        assert len(slack.calls_to("usergroups.users.list")) == reads

    asyncio.run(scenario())


def test_a_member_removed_while_slack_cannot_list_the_group_is_not_kept_for_ever(
    slack: EmulatorThread,
) -> None:
    """Slack stops answering for the group (an incident: `internal_error`, or no answer at
    all): the members last read stand a while, then the bot fails closed, saying why;
    someone removed from the group does not keep acting for as long as the failure lasts.
    The catalog's technicians still act."""
    slack.add_usergroup(GROUP, [MEMBER])
    clock = [0.0]
    authorizer = group_authorizer(slack, clock)

    async def scenario() -> None:
        assert await authorizer.is_technician(MEMBER)
        slack.add_usergroup(GROUP, [])  # removed from the group
        slack.inject_error("usergroups.users.list", "internal_error", times=None)
        clock[0] = 120.0
        assert await authorizer.is_technician(MEMBER)  # the last members read, a while
        clock[0] = STALE_LIMIT_S + 1
        with pytest.raises(UserFacingError) as refused:
            await authorizer.is_technician(MEMBER)
        assert refused.value.key == "auth.unavailable"
        assert await authorizer.is_technician("U01AAA")
        slack.clear_faults()
        assert not await authorizer.is_technician(MEMBER)

    asyncio.run(scenario())


def test_a_group_slack_says_is_gone_ends_its_members_rights_at_once(
    slack: EmulatorThread,
) -> None:
    """The group disabled (how an admin takes every member's rights back) or deleted: Slack
    answers `no_such_subteam`, which waiting will not change. Its members last read are not
    kept for the while a failing read is given: they are told why, at once; the catalog's
    technicians still act."""
    slack.add_usergroup(GROUP, [MEMBER])
    clock = [0.0]
    authorizer = group_authorizer(slack, clock)

    async def scenario() -> None:
        assert await authorizer.is_technician(MEMBER)
        slack.inject_error("usergroups.users.list", "no_such_subteam", times=None)
        clock[0] = 61.0
        with pytest.raises(UserFacingError) as refused:
            await authorizer.is_technician(MEMBER)
        assert (refused.value.key, refused.value.values) == (
            "auth.group_gone",
            {"usergroup": GROUP, "error": "no_such_subteam"},
        )
        assert await authorizer.is_technician("U01AAA")
        # Found gone by someone else's read, within the minute the members are kept: gone.
        slack.clear_faults()
        clock[0] = 200.0
        assert await authorizer.is_technician(MEMBER)
        slack.inject_error("usergroups.users.list", "no_such_subteam", times=None)
        clock[0] = 200.0 + RECHECK_S
        with pytest.raises(UserFacingError):
            await authorizer.is_technician(NEWCOMER)
        with pytest.raises(UserFacingError):
            await authorizer.is_technician(MEMBER)

    asyncio.run(scenario())


class SlowGoneSlack:
    """usergroups.users.list answering `members` at first, then, `delay` seconds late, that
    the group is gone (no_such_subteam)."""

    def __init__(self, members: list[str]) -> None:
        self.members = members
        self.gone = False
        self.delay = 0.0

    async def usergroups_users_list(self, usergroup: str) -> dict[str, Any]:
        await asyncio.sleep(self.delay)
        if self.gone:
            raise SlackApiError("gone", {"ok": False, "error": "no_such_subteam"})
        return {"ok": True, "users": self.members}


def test_a_group_found_gone_by_a_read_nobody_waited_for_ends_its_members_rights() -> None:
    """The group disabled while Slack is slow: its read says `no_such_subteam` after every
    caller gave up waiting for it (they acted on the members last read, as while Slack is
    slow). What it found is not lost with it: the members last read stand no longer, instead
    of for the 10 minutes a failing read is given, read after slow read."""
    slack = SlowGoneSlack([MEMBER])
    clock = [0.0]
    team = Team(usergroup=GROUP, alerts_channel="C01ALERTS")
    authorizer = Authorizer(team, slack, ttl_s=60, wait_s=0.05, monotonic=lambda: clock[0])  # type: ignore[arg-type]

    async def scenario() -> None:
        assert await authorizer.is_technician(MEMBER)
        slack.gone, slack.delay = True, 0.2
        clock[0] = 61.0
        assert await authorizer.is_technician(MEMBER)  # Slack slow: the members last read
        await asyncio.sleep(0.3)  # the read is over: the group is gone
        clock[0] = 62.0
        with pytest.raises(UserFacingError):
            await authorizer.is_technician(MEMBER)

    asyncio.run(scenario())
