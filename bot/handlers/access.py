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


class Authorizer:
    """Answers `is_technician`; user group members are cached for `ttl_s` seconds. If Slack
    cannot list them, or not within `wait_s`, the last members read stand; before any,
    UserFacingError (try again). One read at a time: callers share it."""

    def __init__(
        self,
        team: Team,
        client: AsyncWebClient,
        *,
        ttl_s: float = 60.0,
        wait_s: float = LOOKUP_WAIT_S,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._team = team
        self._client = client
        self._ttl_s = ttl_s
        self._wait_s = wait_s
        self._monotonic = monotonic
        self._members: frozenset[str] = frozenset()
        self._fetched_at: float | None = None
        self._lookup: asyncio.Task[frozenset[str]] | None = None

    async def is_technician(self, user_id: str) -> bool:
        if user_id in self._team.technicians:
            return True
        if self._team.usergroup is None:
            return False
        return user_id in await self._group_members(self._team.usergroup)

    async def _group_members(self, usergroup: str) -> frozenset[str]:
        now = self._monotonic()
        if self._fetched_at is not None and now - self._fetched_at < self._ttl_s:
            return self._members
        if self._lookup is None or self._lookup.done():
            self._lookup = asyncio.create_task(self._read(usergroup, now))
            self._lookup.add_done_callback(_retrieve)
        try:
            return await asyncio.wait_for(asyncio.shield(self._lookup), self._wait_s)
        except (SlackApiError, aiohttp.ClientError, TimeoutError) as error:
            logger.warning("could not read user group %s: %r", usergroup, error)
            if self._fetched_at is None:  # never read: a member is not to be told they are none
                raise UserFacingError("auth.unavailable", usergroup=usergroup) from error
            # Keep the last known members rather than locking every technician out.
            return self._members

    async def _read(self, usergroup: str, now: float) -> frozenset[str]:
        response = await self._client.usergroups_users_list(usergroup=usergroup)
        self._members = frozenset(response.get("users") or [])
        self._fetched_at = now
        return self._members


def _retrieve(lookup: "asyncio.Task[frozenset[str]]") -> None:
    """Take a read's outcome, which no caller may be waiting for any more (it was slow)."""
    if not lookup.cancelled():
        lookup.exception()
