"""Who may change tickets: the catalog's technicians, or members of its Slack user group."""

import asyncio
import logging
import time
from collections.abc import Callable

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.config import Team
from bot.errors import UserFacingError

logger = logging.getLogger(__name__)

# Of Slack's 3 s for an answer, what reading the user group may take: a slower Slack does not
# cost the command, which goes on with the last members read while the read finishes.
LOOKUP_WAIT_S = 1.0
# Someone not among the members read is looked for again once these were read this long ago:
# a member just added to the group is not refused for the rest of the cache's minute.
RECHECK_S = 5.0
# How long the last members read stand while Slack cannot list the group; past it, only the
# catalog's `technicians` act (the others are told Slack did not say who the technicians are).
STALE_LIMIT_S = 600.0
# What Slack answers for a group disabled or deleted, or a token that may not read groups:
# waiting will not change it, so the members last read are not kept meanwhile.
GONE = frozenset({"no_such_subteam", "missing_scope"})


class Authorizer:
    """Answers `is_technician`; user group members are cached for `ttl_s` seconds, and read
    again for someone not among them once `recheck_s` old (a member just added). If Slack
    cannot list them, or not within `wait_s`, the last members read stand for `stale_s`
    seconds after their read; before any, or past that, UserFacingError (try again): a member
    removed from the group does not keep acting for as long as Slack fails. A group Slack
    says is gone (disabled, deleted, or not readable by the token) has no members left to
    stand: UserFacingError at once. One read at a time: callers share it."""

    def __init__(
        self,
        team: Team,
        client: AsyncWebClient,
        *,
        ttl_s: float = 60.0,
        wait_s: float = LOOKUP_WAIT_S,
        recheck_s: float = RECHECK_S,
        stale_s: float = STALE_LIMIT_S,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._team = team
        self._client = client
        self._ttl_s = ttl_s
        self._wait_s = wait_s
        self._recheck_s = recheck_s
        self._stale_s = stale_s
        self._monotonic = monotonic
        self._members: frozenset[str] = frozenset()
        self._fetched_at: float | None = None
        self._lookup: asyncio.Task[frozenset[str]] | None = None

    async def is_technician(self, user_id: str) -> bool:
        if user_id in self._team.technicians:
            return True
        if self._team.usergroup is None:
            return False
        return user_id in await self._group_members(self._team.usergroup, user_id)

    async def _group_members(self, usergroup: str, user_id: str) -> frozenset[str]:
        now = self._monotonic()
        if self._fetched_at is not None:
            age = now - self._fetched_at
            # Not among the members read: perhaps added since, unless they were just read.
            if age < (self._ttl_s if user_id in self._members else self._recheck_s):
                return self._members
        if self._lookup is None or self._lookup.done():
            self._lookup = asyncio.create_task(self._read(usergroup, now))
            self._lookup.add_done_callback(_retrieve)
        try:
            return await asyncio.wait_for(asyncio.shield(self._lookup), self._wait_s)
        except SlackApiError as error:
            code = str(error.response.get("error") or "")
            if code not in GONE:
                return self._last_members(usergroup, error)
            logger.error("Slack refuses to list user group %s: %s", usergroup, code)
            raise UserFacingError("auth.group_gone", usergroup=usergroup, error=code) from error
        except (aiohttp.ClientError, TimeoutError) as error:
            return self._last_members(usergroup, error)

    def _last_members(self, usergroup: str, error: Exception) -> frozenset[str]:
        """The members last read, when Slack could not list them now."""
        logger.warning("could not read user group %s: %r", usergroup, error)
        # Never read, or too long ago: a member is not to be told they are none, and one
        # removed is not to act for as long as Slack fails.
        if self._fetched_at is None or self._monotonic() - self._fetched_at > self._stale_s:
            raise UserFacingError("auth.unavailable", usergroup=usergroup) from error
        # Keep the last known members a while rather than lock every technician out.
        return self._members

    async def _read(self, usergroup: str, now: float) -> frozenset[str]:
        try:
            response = await self._client.usergroups_users_list(usergroup=usergroup)
        except SlackApiError as error:
            if str(error.response.get("error") or "") in GONE:
                # Nobody is a member of it any more, whoever's read found out, and even if
                # every caller gave up waiting for it (Slack slow): read again next time.
                self._members, self._fetched_at = frozenset(), None
            raise
        self._members = frozenset(response.get("users") or [])
        self._fetched_at = now
        return self._members


def _retrieve(lookup: "asyncio.Task[frozenset[str]]") -> None:
    """Take a read's outcome, which no caller may be waiting for any more (it was slow)."""
    if not lookup.cancelled():
        lookup.exception()
