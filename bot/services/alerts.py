"""Alerts: the Slack story of outages, queued in the transaction that records them.

The probe engine calls `in_transaction(session, event)` inside the transaction that opens or
closes an outage, so the outage row and its outbox rows commit together, exactly once:

- outages confirmed in one transaction are alerted together when it commits (`before_commit`),
  so a batch that crosses the storm threshold gets one grouped root instead of one each;
- another probe of a server in outage failing, a thread reply and a root update;
- recovery: a thread reply, the root updated with the duration, and the GTR of the server's
  tickets stopped (TicketService.stop_gtr_on_recovery);
- milestones (15 min, 1 h, 4 h) by `post_outage_milestones`, which the scheduler calls.

Silenced servers post nothing (outages are still recorded); an outage that outlives its silence is
posted when the milestones run sees the silence over, or at its recovery if that comes first. An
open `maintenance` ticket on the server marks its root "maintenance in progress" and pages nobody.
A server down again within FLAP_WINDOW of its recovery from an outage someone acknowledged, or
opened a ticket from, carries the acknowledgement over: its root mentions them, not the on-call,
until its 1 h milestone (`_carry_acknowledgement`), which ends it and pages the on-call
(`_end_lapsed_carry`); not once a ticket of it was resolved.
Outbox keys make every post
idempotent: `outage-<id>/root`, `outage-<id>/root/r<n>`, `outage-<id>/probe/<key>/down/<iso>`,
`outage-<id>/lasts/<15m|1h|4h>`, `outage-<id>/recovered`, `outage-<id>/down-again/INT-<n>`,
`storm-<id>/root`.
"""

import hashlib
import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, String, cast, func, literal, or_, select, update
from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session, sessionmaker

from bot.errors import UserFacingError
from bot.messages import Messages
from bot.probes.result import probe_key
from bot.probes.state import (
    CertificateExpiring,
    OutageClosed,
    OutageOpened,
    ProbeEvent,
    Transition,
)
from bot.services.audit import SYSTEM, Actor, add_audit
from bot.services.base import Service
from bot.services.storms import OpenStorm, decide_storm, reached_milestone, suggest_kind
from bot.services.tickets import Reply, TicketService
from bot.sla import TicketKind
from bot.slack import alerts_render as render
from bot.slack.render import duration, escape, known_names, local_time
from bot.storage.database import reading
from bot.storage.models import (
    AlertStorm,
    Client,
    Outage,
    OutboxMessage,
    OutboxOperation,
    ProbeState,
    ProbeStatus,
    Server,
    Silence,
    Ticket,
    TicketStatus,
)
from bot.storage.outbox import MAX_KEY_LENGTH, Outbound, add_message
from bot.storage.probes import (
    SilenceEnded,
    get_open_outage,
    list_open_outages,
    silences_ended,
    silences_in_force,
)

log = logging.getLogger(__name__)

PENDING = "alerts.opened"  # session.info: outages confirmed in this transaction, alerted at commit
SILENCE_BUTTON = timedelta(hours=1)
# A server down again within it of its previous outage's start is said to flap, on its root;
# down again within it of its previous outage's recovery, it is the same incident: someone who
# acknowledged it (or opened a ticket from it) is on it, and the acknowledgement carries over.
FLAP_WINDOW = timedelta(hours=1)
# How long into a new outage an acknowledgement carried over to it holds: the one on it who
# has not acted within it is not on it; the acknowledgement ends, and the milestones from then
# on page the on-call.
CARRY_HOLDS = timedelta(hours=1)
# Outages of one incident looked back over for its tickets: a night of flapping every minute.
INCIDENT_OUTAGES = 1000


@dataclass(frozen=True)
class Carried:
    """An acknowledgement carried over to a new outage from the incident's earlier ones."""

    previous: Outage  # the server's outage just before, recovered within FLAP_WINDOW
    tickets: Sequence[Ticket]  # still open, opened from the incident's earlier outages


def outage_root_key(outage_id: int) -> str:
    """Outbox key of an outage's root message."""
    return f"outage-{outage_id}/root"


def storm_root_key(storm_id: int) -> str:
    """Outbox key of a storm's grouped root message."""
    return f"storm-{storm_id}/root"


def storm_detail_key(outage_id: int) -> str:
    """Outbox key of a storm member's detail reply, queued when it joined the storm."""
    return f"outage-{outage_id}/detail"


def _alerting_post() -> ColumnElement[str]:
    """In SQL, the outbox key of the post that alerted an outage: its root, or its detail in
    its storm's thread. Its `created_at` is when it was alerted, which is not when it was
    confirmed for one confirmed while silenced and alerted once the silence was over."""
    detail = literal("outage-", String).concat(cast(Outage.id, String)).concat("/detail")
    return func.coalesce(Outage.root_key, detail)


def bounded_key(key: str) -> str:
    """`key`, or a readable prefix and a digest when it exceeds the outbox key width."""
    if len(key) <= MAX_KEY_LENGTH:
        return key
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    return f"{key[: MAX_KEY_LENGTH - len(digest) - 1]}#{digest}"


class AlertService(Service):
    """Outage alerts in the alert channel; `wake` is called after commits that queued posts."""

    def __init__(
        self,
        tickets: TicketService,
        sessions: sessionmaker[Session],
        messages: Messages,
        *,
        clock: Callable[[], datetime],
        wake: Callable[[], None] = lambda: None,
    ) -> None:
        super().__init__(sessions, tickets.catalog, messages, clock=clock, wake=wake)
        self._tickets = tickets
        self._channel = self.catalog.team.alerts_channel
        # probe key -> (server id, probe type), to read transitions and suggest a ticket kind
        self._probes: dict[str, tuple[str, str]] = {
            probe_key(server, spec): (server.id, spec.type)
            for server in self.catalog.servers
            for spec in server.probes
        }

    # The probe engine's hooks ------------------------------------------------------------------

    def in_transaction(self, session: Session, event: ProbeEvent) -> None:
        """Queue the alert messages of `event` in the engine's transaction (exactly once)."""
        if isinstance(event, OutageOpened):
            self._defer_opened(session, event)
        elif isinstance(event, OutageClosed):
            self._closed(session, event)
        elif isinstance(event, CertificateExpiring):
            self._certificate_expiring(session, event)
        else:
            self._transition(session, event)

    async def on_event(self, _event: ProbeEvent) -> None:
        """After the engine committed: deliver what it queued without waiting for a poll."""
        self._wake()

    # Opening -----------------------------------------------------------------------------------

    def _defer_opened(self, session: Session, event: OutageOpened) -> None:
        if event.outage_id is None:
            raise ValueError(f"{event!r} has no outage id: the engine sets it before the hook")
        pending: list[int] = session.info.setdefault(PENDING, [])
        if not pending:
            sa_event.listen(session, "before_commit", self._alert_opened, once=True)
        pending.append(event.outage_id)

    def _alert_opened(self, session: Session) -> None:
        """At commit: alert the outages confirmed in this transaction, alone or as a storm."""
        ids: list[int] = session.info.pop(PENDING, [])
        now = self._clock()
        outages = [o for o in (session.get(Outage, i) for i in ids) if o is not None]
        outages = [o for o in outages if o.ended_at is None and o.root_key is None]
        # Carried over even while silenced: the root posted when the silence ends pages nobody.
        carried = {
            outage.id: carry
            for outage in outages
            if (carry := self._carry_acknowledgement(session, outage, now)) is not None
        }
        silenced = self._silenced(session, {o.server_id for o in outages}, now)
        alerting = [o for o in outages if o.server_id not in silenced]
        for outage in alerting:
            if outage.id in carried:
                self._tell_tickets(session, outage, carried[outage.id], now)
        self._alert(session, alerting, now, exclude=outages)

    def _alert(
        self, session: Session, alerting: list[Outage], now: datetime, *, exclude: list[Outage]
    ) -> None:
        """Post the roots of `alerting`, alone or as a storm (with the outages of `exclude`,
        its superset, counted neither as alerted nor as failing elsewhere)."""
        if not alerting:
            return
        policy = self.catalog.policy
        decision = decide_storm(
            new=len(alerting),
            recent=self._recently_alerted(
                session, now - policy.storm_window, exclude=[o.id for o in exclude]
            ),
            failing=self._failing_elsewhere(
                session, now - policy.storm_window, exclude={o.server_id for o in exclude}
            ),
            threshold=policy.storm_threshold,
            window=policy.storm_window,
            now=now,
            open_storm=self._open_storm(session),
        )
        if not decision.group:
            for outage in alerting:
                self._post_outage_root(session, outage, now)
            return
        self._storm(session, decision.join, alerting, now)

    def _carry_acknowledgement(
        self, session: Session, outage: Outage, now: datetime
    ) -> Carried | None:
        """A server down again within FLAP_WINDOW of its previous outage's recovery is the same
        incident: if someone acknowledged that outage, or a ticket opened from one of the
        incident's outages is still open (a technician is on it), the new outage is
        acknowledged by them, as of then: its root mentions them rather than the on-call, and
        its milestones page the on-call only from CARRY_HOLDS on. Audited as a click is, by the
        system. None when nobody is on it: it pages as any other. Nobody is on it once a
        ticket of the incident was resolved (or refused) after the acknowledgement, none left
        open: the technician declared it fixed, and a new outage is a new trouble."""
        earlier = self._incident(session, outage)
        if not earlier:
            return None
        previous = earlier[0]
        incident_tickets = session.scalars(
            select(Ticket).where(Ticket.outage_id.in_([o.id for o in earlier])).order_by(Ticket.id)
        ).all()
        tickets = [t for t in incident_tickets if t.status is not TicketStatus.RESOLVED]
        if previous.acknowledged_by is not None and previous.acknowledged_at is not None:
            by, at = previous.acknowledged_by, previous.acknowledged_at
            if not tickets and self._declared_fixed(incident_tickets, since=at):
                return None
        elif tickets:  # who is on the first ticket: its assignee, else its opener
            first = tickets[0]
            by = first.assignee_id or first.opened_by
            at = (first.claimed_at if first.assignee_id else None) or first.registered_at
        else:
            return None
        outage.acknowledged_by, outage.acknowledged_at = by, at
        add_audit(
            session,
            SYSTEM,
            "outage.acknowledged",
            at=now,
            server_id=outage.server_id,
            details={
                "outage_id": outage.id,
                "carried_from": previous.id,
                "acknowledged_by": by,
                "acknowledged_at": at.isoformat(),
                "tickets": [ticket.id for ticket in tickets],
            },
        )
        return Carried(previous, tickets)

    @staticmethod
    def _declared_fixed(tickets: Sequence[Ticket], *, since: datetime) -> bool:
        """Whether a ticket of the incident was resolved (or refused) at or after `since`, the
        acknowledgement's time: its technician considered the incident over, and nobody is on
        it any more (one click must not keep a server that fails anew silent all night)."""
        return any(t.resolved_at is not None and t.resolved_at >= since for t in tickets)

    def _incident(self, session: Session, outage: Outage) -> list[Outage]:
        """The server's outages before `outage` in the same incident, latest first: each
        recovered within FLAP_WINDOW before the next one started."""
        rows = session.scalars(
            select(Outage)
            .where(
                Outage.server_id == outage.server_id,
                Outage.started_at < outage.started_at,
                Outage.ended_at.is_not(None),
            )
            .order_by(Outage.started_at.desc())
            .limit(INCIDENT_OUTAGES)
        )
        incident: list[Outage] = []
        start = outage.started_at
        for earlier in rows:
            assert earlier.ended_at is not None
            if start - earlier.ended_at > FLAP_WINDOW:
                break
            incident.append(earlier)
            start = earlier.started_at
        return incident

    def _tell_tickets(
        self, session: Session, outage: Outage, carried: Carried, now: datetime
    ) -> None:
        """Say in the thread of each ticket still open from the incident that its server is
        down again (its new alert pages the on-call only if it lasts CARRY_HOLDS: the ticket's
        technician is on it). Mentions nobody: the new root mentions who is on it already."""
        assert carried.previous.ended_at is not None
        threads: dict[str, list[Ticket]] = {}
        for ticket in carried.tickets:
            if ticket.thread_key is not None:
                threads.setdefault(ticket.thread_key, []).append(ticket)
        for thread, tickets in threads.items():
            text = self._messages.get(
                "alert.thread.down_again",
                server=outage.server_id,
                since=local_time(outage.started_at, self._zone),
                gap=duration(outage.started_at - carried.previous.ended_at, self._messages),
                refs=", ".join(f"INT-{ticket.id}" for ticket in tickets),
                count=len(tickets),
            )
            key = bounded_key(f"outage-{outage.id}/down-again/INT-{tickets[0].id}")
            self._post(session, key, text, now, thread_key=thread)

    def _post_outage_root(self, session: Session, outage: Outage, now: datetime) -> None:
        outage.root_key = outage_root_key(outage.id)
        view = self._view(session, outage, now)
        text, blocks = render.outage_root(view, self._messages, self._zone)
        self._post(session, outage.root_key, text, now, blocks=blocks)
        for line in view.failing:
            self._post_probe_down(session, outage, line, now)

    def _post_probe_down(
        self, session: Session, outage: Outage, line: render.ProbeLine, now: datetime
    ) -> None:
        assert outage.root_key is not None
        state = session.get(ProbeState, line.key)
        since = state.streak_started_at if state and state.streak_started_at else now
        text = render.probe_down(outage.server_id, line, since, self._messages, self._zone)
        key = f"outage-{outage.id}/probe/{line.key}/down/{since.isoformat()}"
        self._post(session, bounded_key(key), text, now, thread_key=outage.root_key)

    def _storm(
        self, session: Session, storm_id: int | None, outages: list[Outage], now: datetime
    ) -> None:
        if storm_id is None:
            storm = AlertStorm(started_at=min(o.started_at for o in outages), ended_at=None)
            session.add(storm)
            session.flush()
            storm.root_key = storm_root_key(storm.id)
        else:
            storm = self._lock_storm(session, storm_id)
        # Servers joining a storm whose root pages nobody (acknowledged, or left with only
        # servers under maintenance, silenced or with a ticket) were seen by nobody: the root's
        # edit notifies nobody and members get no milestone, so their details mention the
        # on-call, and the root asks again for someone to take the storm. Not for servers
        # under maintenance (their downtime is planned, as on a root of their own), nor for
        # those down again whose earlier outage's acknowledgement carried over (someone is on
        # them).
        views = {outage.id: self._view(session, outage, now) for outage in outages}
        unseen = any(
            view.maintenance_ref is None and view.acknowledged_by is None for view in views.values()
        )
        paged = storm_id is not None and self._storm_view(session, storm, now).pages
        page = tuple(self.catalog.team.oncall) if storm_id is not None and not paged else ()
        if unseen:
            storm.acknowledged_by = storm.acknowledged_at = None
        for outage in outages:
            outage.storm_id = storm.id
        session.flush()
        if storm_id is None:
            text, blocks = render.storm_root(
                self._storm_view(session, storm, now), self._messages, self._zone
            )
            self._post(session, storm_root_key(storm.id), text, now, blocks=blocks)
        else:
            self._update_storm_root(session, storm, now)
        for outage in outages:
            view = views[outage.id]
            handled = view.maintenance_ref is not None or view.acknowledged_by is not None
            text, blocks = render.storm_detail(
                view, self._messages, self._zone, page=() if handled else page
            )
            self._post(
                session,
                storm_detail_key(outage.id),
                text,
                now,
                thread_key=storm_root_key(storm.id),
                blocks=blocks,
            )

    # Changes during an outage ------------------------------------------------------------------

    def _transition(self, session: Session, event: Transition) -> None:
        known = self._probes.get(event.key)
        if known is None:
            return  # a probe no longer in the catalog
        outage = get_open_outage(session, known[0])
        if outage is None or outage.root_key is None:
            return  # not alerted yet (opened in this transaction), silenced, or in a storm
        now = self._clock()
        if event.new_status is ProbeStatus.DOWN:
            if not self._silenced(session, {outage.server_id}, now):
                line = render.ProbeLine(event.key, event.last_error)
                self._post_probe_down(session, outage, line, now)
            self._update_outage_root(session, outage, now)
        elif self._failing(session, outage.server_id):  # else OutageClosed follows and updates
            self._update_outage_root(session, outage, now)

    def _closed(self, session: Session, event: OutageClosed) -> None:
        if event.outage_id is None:
            return  # the engine found no open outage to close and logged it
        outage = session.get(Outage, event.outage_id)
        if outage is None:
            return
        now = self._clock()
        alerted = outage.root_key is not None or outage.storm_id is not None
        if not alerted and not self._silenced(session, {outage.server_id}, event.ended_at):
            # Confirmed while silenced, down still when the silence ended, and back before
            # the milestones run that would have posted its root: the team hears of it as it
            # would have then, its root (recovered: it pages nobody) and the recovery below.
            self._post_outage_root(session, outage, now)
            alerted = True
        if alerted and not self._silenced(session, {outage.server_id}, now):
            text = self._messages.get(
                "alert.thread.recovered",
                server=outage.server_id,
                duration=duration(event.ended_at - outage.started_at, self._messages),
                at=local_time(event.ended_at, self._zone),
            )
            key = f"outage-{outage.id}/recovered"
            self._post(session, key, text, now, thread_key=self._thread(outage))
        # After the recovery's post: a ticket opened from the outage tells, in the same thread,
        # that its GTR stopped at the recovery, which the thread must have said first.
        self._tickets.stop_gtr_on_recovery(session, event.server_id, event.ended_at)
        if outage.root_key is not None:
            self._update_outage_root(session, outage, now)
        elif outage.storm_id is not None:
            storm = self._lock_storm(session, outage.storm_id)
            if not self._probed_still_down(session, storm.id):
                storm.ended_at = event.ended_at
            self._update_storm_root(session, storm, now)

    # Certificates ------------------------------------------------------------------------------

    def _certificate_expiring(self, session: Session, event: CertificateExpiring) -> None:
        """A top-level post in the alert channel at each notice of an HTTPS certificate nearing
        its expiry (its last day mentions the on-call): renewed in time, it never becomes an
        outage. Once per probe, certificate and notice, by key; nothing while the server is
        silenced (the engine hands it again within the hour)."""
        now = self._clock()
        if self._silenced(session, {event.server_id}, now):
            return
        text = render.certificate_expiring(
            event.server_id,
            event.url,
            event.expires_at,
            now,
            self._messages,
            self._zone,
            verified=event.verified,
            oncall=tuple(self.catalog.team.oncall) if event.notice <= 1 else (),
        )
        day = event.expires_at.strftime("%Y%m%dT%H%M%S")
        self._post(session, bounded_key(f"cert/{event.key}/{day}/{event.notice}d"), text, now)

    # Milestones --------------------------------------------------------------------------------

    def post_outage_milestones(self, now: datetime) -> int:
        """Say in each open outage's thread that it lasts 15 min, 1 h, 4 h; how many were queued.

        One transaction, idempotent by key: calling it again posts nothing new. When a silence
        ends on a server still down, its thread says so (`_silence_over`). Servers the catalog
        no longer probes get no milestone: no probe can end their outage (`_unprobed`).
        """
        queued = 0
        with self._sessions.begin() as session:
            open_outages = list_open_outages(session)
            silenced = self._silenced(session, {o.server_id for o in open_outages}, now)
            outages = []
            for outage in open_outages:
                quiet = outage.server_id in silenced
                if self.catalog.probes_server(outage.server_id):
                    outages.append(outage)
                elif outage.root_key is not None and not quiet:
                    queued += self._unprobed(session, outage, now)
                elif outage.storm_id is not None:
                    queued += self._unprobed_member(session, outage, now, quiet=quiet)
            queued += self._probed_again(session, outages, now)
            servers = {outage.server_id for outage in outages}
            first = min((outage.confirmed_at for outage in outages), default=now)
            ended = silences_ended(session, servers, after=first, now=now)
            heard = [outage for outage in outages if outage.server_id not in silenced]
            # Confirmed while silenced: alerted now, as a wave (a rack's silence over with the
            # rack still down is one storm, not a root each paging the on-call).
            fresh = [o for o in heard if o.root_key is None and o.storm_id is None]
            lapses = {outage.id: self._end_lapsed_carry(session, outage, now) for outage in heard}
            self._alert(session, fresh, now, exclude=fresh)
            queued += len(fresh)
            for outage in heard:
                new_root = outage in fresh
                lapsed = lapses[outage.id]
                queued += lapsed
                silence = ended.get(outage.server_id)
                pinged = False
                if silence is not None and silence.ends_at > outage.confirmed_at:
                    pinged = self._silence_over(session, outage, silence, now, new_root=new_root)
                    queued += pinged
                if outage.root_key is None:
                    # A storm member: the storm's thread does not count per server, but says
                    # when a carried acknowledgement lapses, the root's edit notifying nobody.
                    if lapsed and not pinged:
                        queued += self._post_lasts(session, outage, now, pinged=False)
                    continue
                queued += self._post_lasts(session, outage, now, pinged=pinged)
        if queued:
            self._wake()
        return queued

    def _post_lasts(self, session: Session, outage: Outage, now: datetime, *, pinged: bool) -> bool:
        """Say in the outage's thread (its storm's, for a storm member) that it lasts its
        longest milestone reached, mentioning the on-call if it pages them and `pinged` did not
        already (one mention a run is enough). Once per milestone, by key; False when none was
        reached or it was said."""
        label = reached_milestone(now - outage.started_at)
        if label is None:
            return False
        view = self._view(session, outage, now)
        pages = view.pages and not pinged
        text = self._messages.get(
            "alert.thread.lasts",
            server=outage.server_id,
            duration=duration(view.lasted(), self._messages),
            mentions=" " + render.mentions(view.oncall) if pages else "",
        )
        key = f"outage-{outage.id}/lasts/{label}"
        return self._post(session, key, text, now, thread_key=self._thread(outage))

    def _end_lapsed_carry(
        self, session: Session, outage: Outage, now: datetime, *, edit: bool = True
    ) -> bool:
        """An acknowledgement carried over to `outage` lapses CARRY_HOLDS into it, if the
        on-call would be paged for it otherwise: the one it was carried from has not acted on
        it, and its milestones page the on-call. It ends then, on the row (audited, by the
        system), and with `edit` the root is edited (unless the root is yet to be posted) as an
        unacknowledged outage's, with Acknowledge for the on-call it wakes: from then on, the
        outage follows the ordinary rules. A storm member is then a server down nobody took,
        as one joining the storm unseen: the storm's acknowledgement, if any, is taken back
        (it was given before this server joined: a click with it listed took it, no longer
        carried) and its root, edited, asks again for someone to take the storm. The caller
        pages the on-call. False when no carried acknowledgement lapsed."""
        if not self._carried(outage) or now - outage.started_at < CARRY_HOLDS:
            return False
        # Read again under the locks a click takes, in its order (the storm, then its servers):
        # a click committed since the read this judges from took the server, and holds.
        storm = None
        if outage.root_key is None and outage.storm_id is not None:
            storm = self._lock_storm(session, outage.storm_id)
        session.flush()
        session.refresh(outage, with_for_update=True)
        by, at = outage.acknowledged_by, outage.acknowledged_at
        if not self._carried(outage) or by is None or at is None:
            return False
        if not self._view(session, outage, now).pages_unacknowledged:
            return False  # a ticket, a maintenance holds it: nobody is paged either way
        previous = session.scalars(
            select(Outage.id)
            .where(
                Outage.server_id == outage.server_id,
                Outage.started_at < outage.started_at,
                Outage.ended_at.is_not(None),
            )
            .order_by(Outage.started_at.desc())
            .limit(1)
        ).first()
        outage.acknowledged_by = outage.acknowledged_at = None
        add_audit(
            session,
            SYSTEM,
            "outage.acknowledgement_ended",
            at=now,
            server_id=outage.server_id,
            details={
                "outage_id": outage.id,
                "carried_from": previous,
                "acknowledged_by": by,
                "acknowledged_at": at.isoformat(),
            },
        )
        if outage.root_key is not None:
            if edit:
                self._update_outage_root(session, outage, now)
        elif storm is not None:
            storm.acknowledged_by = storm.acknowledged_at = None
            if edit:
                self._update_storm_root(session, storm, now)
        return True

    @staticmethod
    def _carried(outage: Outage) -> bool:
        """Whether `outage` is acknowledged only by a carry-over from an earlier outage."""
        at = outage.acknowledged_at
        return outage.acknowledged_by is not None and at is not None and at < outage.started_at

    def _unprobed(self, session: Session, outage: Outage, now: datetime) -> bool:
        """The catalog no longer probes the server of an open outage: say so in its thread and
        turn its root from DOWN, paging, with buttons, into "no longer monitored". Once, by key;
        False when already said."""
        assert outage.root_key is not None
        text = self._messages.get("alert.thread.unprobed", server=outage.server_id)
        key = f"outage-{outage.id}/unprobed"
        if not self._post(session, key, text, now, thread_key=outage.root_key):
            return False
        self._update_outage_root(session, outage, now)
        return True

    def _probed_again(self, session: Session, outages: list[Outage], now: datetime) -> int:
        """Of `outages`, on servers the catalog probes, those whose thread said they no longer
        were (`_unprobed`): the catalog took them back while they are still down. Say so in
        the thread and turn the root back into a live outage, with its buttons and its paging,
        once, by key; how many were."""
        said = {f"outage-{o.id}/unprobed": o for o in outages if o.root_key is not None}
        if not said:
            return 0
        queued = 0
        told = select(OutboxMessage.key).where(OutboxMessage.key.in_(sorted(said)))
        for key in session.scalars(told).all():
            outage = said[key]
            assert outage.root_key is not None
            text = self._messages.get("alert.thread.probed_again", server=outage.server_id)
            again = f"outage-{outage.id}/probed-again"
            if self._post(session, again, text, now, thread_key=outage.root_key):
                self._update_outage_root(session, outage, now)
                queued += 1
        return queued

    def _unprobed_member(
        self, session: Session, outage: Outage, now: datetime, *, quiet: bool
    ) -> bool:
        """The catalog no longer probes the server of a storm member still down: say so in
        the storm's thread (once, by key; nothing while it is silenced), and end the storm if no
        server it probes is still down, when the last of them came back. False when nothing
        was queued."""
        assert outage.storm_id is not None
        storm = self._lock_storm(session, outage.storm_id)
        said = False
        if not quiet:
            text = self._messages.get("alert.thread.unprobed", server=outage.server_id)
            key = f"outage-{outage.id}/unprobed"
            said = self._post(session, key, text, now, thread_key=storm_root_key(storm.id))
        ends = storm.ended_at is None and not self._probed_still_down(session, storm.id)
        if ends:
            last_back = session.scalar(
                select(func.max(Outage.ended_at)).where(Outage.storm_id == storm.id)
            )
            storm.ended_at = last_back or now
        if said or ends:
            self._update_storm_root(session, storm, now)
        return said or ends

    def _probed_still_down(self, session: Session, storm_id: int) -> bool:
        """Whether a member of the storm is still down on a server the catalog probes: one it
        no longer probes will never be seen back, so it must not keep the storm open."""
        servers = session.scalars(
            select(Outage.server_id).where(Outage.storm_id == storm_id, Outage.ended_at.is_(None))
        )
        return any(self.catalog.probes_server(server) for server in servers)

    def _silence_over(
        self,
        session: Session,
        outage: Outage,
        silence: SilenceEnded,
        now: datetime,
        *,
        new_root: bool,
    ) -> bool:
        """The silence of a server still down is over: say so in the outage's thread (its
        storm's, for a storm member), mentioning the on-call unless someone handles the outage,
        and bring the root up to date (it said "silenced until…" and offered no Silence
        button). Once per silence, by key; False when already said."""
        thread = self._thread(outage)
        view = self._view(session, outage, now)
        text = self._messages.get(
            "alert.thread.silence_over",
            server=outage.server_id,
            at=local_time(silence.ends_at, self._zone),
            duration=duration(view.lasted(), self._messages),
            # A new root mentions the on-call itself.
            mentions=" " + render.mentions(view.oncall) if view.pages and not new_root else "",
        )
        key = f"outage-{outage.id}/silence-over/{silence.id}"
        if not self._post(session, key, text, now, thread_key=thread):
            return False
        if not new_root and outage.root_key is not None:  # a new root shows the outage as now
            self._update_outage_root(session, outage, now)
        elif outage.storm_id is not None:  # its line said "silenced until…"
            self._update_storm_root(session, self._lock_storm(session, outage.storm_id), now)
        return True

    # Buttons and commands ----------------------------------------------------------------------

    def intervention_defaults(self, outage_id: int) -> tuple[str, TicketKind, str]:
        """What the Open intervention modal is pre-filled with: server, kind, description."""
        with reading(self._sessions) as session:
            outage = self._get(session, outage_id)
            failing = [
                (self._probes.get(line.key, ("", ""))[1], line.error)
                for line in self._failing(session, outage.server_id)
            ]
            since = local_time(outage.started_at, self._zone)
            description = self._messages.get(
                "modal.open.default_description", server=outage.server_id, since=since
            )
            return outage.server_id, suggest_kind(failing), description

    def refresh_server(self, server_id: str) -> None:
        """Update the root of the server's open outage, or of its storm, if it has one: whether
        it pages the on-call depends on an open maintenance ticket on the server. The last one
        closed on a server still down, its thread says so, or its storm's (`_maintenance_over`)."""
        with self._transaction() as session:
            outage = get_open_outage(session, server_id)
            if outage is not None and outage.root_key is not None:
                self._maintenance_over(session, outage, self._clock())
                self._update_outage_root(session, outage, self._clock())
            elif outage is not None and outage.storm_id is not None:
                storm = self._lock_storm(session, outage.storm_id)
                self._maintenance_over(session, outage, self._clock())
                self._update_storm_root(session, storm, self._clock())

    def _maintenance_over(self, session: Session, outage: Outage, now: datetime) -> None:
        """No maintenance ticket is open any more on the server of `outage`, still down: say so
        in its thread (its storm's, for a storm member), mentioning the on-call unless someone
        handles the outage (the edit of the root notifies nobody, and the next milestone may be
        hours away, or past). Once per ticket, by key; nothing while a maintenance ticket is
        still open or the server is silenced."""
        view = self._view(session, outage, now)
        if view.maintenance_ref is not None or view.silenced_until is not None:
            return
        closed = session.scalar(
            select(func.max(Ticket.id)).where(
                Ticket.server_id == outage.server_id,
                Ticket.kind == TicketKind.MAINTENANCE.value,
                Ticket.resolved_at > outage.started_at,
            )
        )
        if closed is None:
            return
        # The maintenance held a carried acknowledgement past CARRY_HOLDS: it ends now, and
        # this reply pages the on-call (the milestone that would have is past). The caller
        # edits the root.
        if self._end_lapsed_carry(session, outage, now, edit=False):
            view = self._view(session, outage, now)
        text = self._messages.get(
            "alert.thread.maintenance_over",
            ref=f"INT-{closed}",
            server=outage.server_id,
            duration=duration(view.lasted(), self._messages),
            mentions=" " + render.mentions(view.oncall) if view.pages else "",
        )
        key = f"outage-{outage.id}/maintenance-over/{closed}"
        self._post(session, key, text, now, thread_key=self._thread(outage))

    def refresh(self, outage_id: int) -> None:
        """Update an outage's root, or its storm's (after a ticket was opened from it)."""
        with self._transaction() as session:
            outage = self._get(session, outage_id)
            if outage.root_key is not None:
                self._update_outage_root(session, outage, self._clock())
            elif outage.storm_id is not None:
                storm = self._lock_storm(session, outage.storm_id)
                self._update_storm_root(session, storm, self._clock())

    def acknowledge(self, actor: Actor, outage_id: int) -> Reply:
        """Record who took the alert (the root stops paging); one of concurrent clicks wins."""
        with self._transaction() as session:
            now = self._clock()
            outage = self._get(session, outage_id, lock=True)
            self._require_open(outage)
            won = session.execute(
                update(Outage)
                .where(Outage.id == outage_id, Outage.acknowledged_by.is_(None))
                .values(acknowledged_by=actor.user_id, acknowledged_at=now)
            )
            session.refresh(outage)
            if won.rowcount != 1:  # type: ignore[attr-defined]
                raise UserFacingError("alert.already_acknowledged", user=outage.acknowledged_by)
            audit_id = add_audit(
                session,
                actor,
                "outage.acknowledged",
                at=now,
                server_id=outage.server_id,
                details={"outage_id": outage.id},
            )
            if outage.root_key is not None:
                text = self._messages.get("alert.thread.acknowledged", user=actor.user_id)
                key = f"outage-{outage.id}/event/{audit_id}"
                self._post(session, key, text, now, thread_key=outage.root_key)
                self._update_outage_root(session, outage, now)
        return Reply(self._messages.get("alert.acknowledged", server=outage.server_id))

    def acknowledge_storm(self, actor: Actor, storm_id: int) -> Reply:
        """Acknowledge a storm from its grouped root: its servers still down are acknowledged
        with it (`/sla status` names who took them) and the root stops paging. So are those
        whose acknowledgement was only carried over from an earlier outage: the click took them
        as listed on the root, and a carry lapsing later must not take back the storm's
        acknowledgement (`_end_lapsed_carry`); the audit names whose carry each replaced.
        Servers joining it later are not: nobody has seen them yet."""
        with self._transaction() as session:
            now = self._clock()
            storm = session.scalars(
                select(AlertStorm).where(AlertStorm.id == storm_id).with_for_update()
            ).one_or_none()
            if storm is None:
                raise UserFacingError("alert.not_found")
            if storm.ended_at is not None:
                at = local_time(storm.ended_at, self._zone)
                # Ended with servers still down: the catalog no longer probed them.
                unprobed = session.scalar(
                    select(func.count()).where(
                        Outage.storm_id == storm.id, Outage.ended_at.is_(None)
                    )
                )
                key = (
                    "alert.storm_already_over_unprobed" if unprobed else "alert.storm_already_over"
                )
                raise UserFacingError(key, at=at)
            if storm.acknowledged_by is not None:
                raise UserFacingError("alert.already_acknowledged", user=storm.acknowledged_by)
            storm.acknowledged_by, storm.acknowledged_at = actor.user_id, now
            down = session.scalars(
                select(Outage).where(
                    Outage.storm_id == storm.id,
                    Outage.ended_at.is_(None),
                    or_(
                        Outage.acknowledged_by.is_(None),
                        Outage.acknowledged_at < Outage.started_at,  # carried over
                    ),
                )
            ).all()
            carried = {
                outage.server_id: outage.acknowledged_by
                for outage in down
                if outage.acknowledged_by is not None
            }
            for outage in down:
                outage.acknowledged_by, outage.acknowledged_at = actor.user_id, now
            servers = sorted(outage.server_id for outage in down)
            audit_id = add_audit(
                session,
                actor,
                "storm.acknowledged",
                at=now,
                details={
                    "storm_id": storm.id,
                    "servers": servers,
                    "carried": dict(sorted(carried.items())),
                },
            )
            text = self._messages.get("alert.thread.storm_acknowledged", user=actor.user_id)
            key = f"storm-{storm.id}/event/{audit_id}"
            self._post(session, key, text, now, thread_key=storm_root_key(storm.id))
            self._update_storm_root(session, storm, now)
        return Reply(self._messages.get("alert.storm_acknowledged", count=len(servers)))

    def silence_outage(self, actor: Actor, outage_id: int) -> Reply:
        """The Silence 1h button: silence the outage's server for an hour, unless a silence is
        in force already (a double click, or a colleague's click the root did not show yet)."""
        with self._transaction() as session:
            now = self._clock()
            outage = self._get(session, outage_id, lock=True)  # concurrent clicks queue here
            # A stale button: silencing the server now would hide its next outage unasked.
            self._require_open(outage)
            silenced = self._silenced(session, {outage.server_id}, now).get(outage.server_id)
            if silenced is not None:
                shown = local_time(silenced, self._zone)
                raise UserFacingError(
                    "alert.already_silenced", server=outage.server_id, until=shown
                )
            reason = self._messages.get("alert.silence_reason_button")
            until = self._add_silence(session, actor, outage.server_id, SILENCE_BUTTON, reason, now)
        return self._silenced_reply(outage.server_id, until, "")

    def silence(self, actor: Actor, server_id: str, length: timedelta, reason: str) -> Reply:
        """No alert posts for `server_id` during `length` (outages are still recorded)."""
        server = self.catalog.find_server(server_id)
        if server is None:
            ids = [s.id for s in self.catalog.servers]
            known = known_names(ids, server_id, self._messages)
            raise UserFacingError("ticket.unknown_server", server=server_id, known=known)
        with self._transaction() as session:
            now = self._clock()
            holds = self._silence_holds(session, server.id, now + length, now)
            until = self._add_silence(session, actor, server.id, length, reason, now, holds)
        return self._silenced_reply(server.id, until, holds)

    def _add_silence(
        self,
        session: Session,
        actor: Actor,
        server_id: str,
        length: timedelta,
        reason: str,
        now: datetime,
        holds: str = "",
    ) -> datetime:
        """Silence `server_id` from `now` for `length`: audited, told in its outage's thread
        (its storm's, for a storm member, whose root lists it silenced; with `holds`, see
        `_silence_holds`); the end of the silence."""
        until = now + length
        session.add(
            Silence(
                server_id=server_id,
                starts_at=now,
                ends_at=until,
                reason=reason,
                created_by=actor.user_id,
            )
        )
        audit_id = add_audit(
            session,
            actor,
            "server.silenced",
            at=now,
            server_id=server_id,
            details={"until": until.isoformat(), "reason": reason},
        )
        outage = get_open_outage(session, server_id)
        if outage is None or (outage.root_key is None and outage.storm_id is None):
            return until  # no thread follows the server: nothing to tell
        text = self._messages.get(
            "alert.thread.silenced",
            user=actor.user_id,
            server=server_id,
            until=local_time(until, self._zone),
            holds=holds,
            reason=self._reason(reason),
        )
        key = f"outage-{outage.id}/event/{audit_id}"
        if outage.root_key is not None:
            self._lock_outage(session, outage.id)
            self._post(session, key, text, now, thread_key=outage.root_key)
            self._update_outage_root(session, outage, now)
        else:  # a storm member: its storm's thread is where the team follows it
            assert outage.storm_id is not None
            storm = self._lock_storm(session, outage.storm_id)
            self._post(session, key, text, now, thread_key=storm_root_key(storm.id))
            self._update_storm_root(session, storm, now)
        return until

    def _silence_holds(
        self, session: Session, server_id: str, until: datetime, now: datetime
    ) -> str:
        """What to add to "silenced until `until`" when a silence in force ends later: the one
        that ends last wins, so alerts stay silenced until then."""
        longer = self._silenced(session, {server_id}, now).get(server_id)
        if longer is None or longer <= until:
            return ""
        return self._messages.get("alert.silence_holds", until=local_time(longer, self._zone))

    def _silenced_reply(self, server_id: str, until: datetime, holds: str) -> Reply:
        return Reply(
            self._messages.get(
                "alert.silenced",
                server=server_id,
                until=local_time(until, self._zone),
                holds=holds,
            )
        )

    # Reading -----------------------------------------------------------------------------------

    def _view(self, session: Session, outage: Outage, now: datetime) -> render.OutageView:
        server = session.get(Server, outage.server_id)
        client = session.get(Client, server.client_id) if server is not None else None
        silenced = self._silenced(session, {outage.server_id}, now)
        maintenance = self._maintenance(session, {outage.server_id})
        tickets = session.scalars(
            select(Ticket.id).where(Ticket.outage_id == outage.id).order_by(Ticket.id)
        )
        recent = session.scalar(  # by the open-outage index (server_id first)
            select(func.count()).where(
                Outage.server_id == outage.server_id,
                Outage.started_at > outage.started_at - FLAP_WINDOW,
                Outage.started_at < outage.started_at,
                # Only those the team was alerted of: outages a silence hid (a planned
                # reboot's) would read as a server unstable, with no root to find.
                (Outage.root_key.is_not(None)) | (Outage.storm_id.is_not(None)),
            )
        )
        return render.OutageView(
            id=outage.id,
            server_id=outage.server_id,
            client_name=client.name if client is not None else "?",
            level=client.level if client is not None else "?",
            started_at=outage.started_at,
            ended_at=outage.ended_at,
            failing=tuple(self._failing(session, outage.server_id)) if not outage.ended_at else (),
            acknowledged_by=outage.acknowledged_by,
            acknowledged_at=outage.acknowledged_at,
            maintenance_ref=maintenance.get(outage.server_id),
            silenced_until=silenced.get(outage.server_id),
            oncall=tuple(self.catalog.team.oncall),
            tickets=tuple(f"INT-{ticket_id}" for ticket_id in tickets),
            now=now,
            recent=int(recent or 0) + 1,
            probed=self.catalog.probes_server(outage.server_id),
            carry_lapses_at=outage.started_at + CARRY_HOLDS,
        )

    def _storm_view(self, session: Session, storm: AlertStorm, now: datetime) -> render.StormView:
        rows = session.execute(
            select(
                Outage.id,
                Outage.server_id,
                Client.name,
                Outage.started_at,
                Outage.ended_at,
                Outage.acknowledged_by,
            )
            .join(Server, Server.id == Outage.server_id)
            .join(Client, Client.id == Server.client_id)
            .where(Outage.storm_id == storm.id)
            .order_by(Outage.id)
        ).all()
        # A server that came back and went down again during the wave has two outages in the
        # storm: it is listed and counted once, as its latest outage, where it first appeared.
        latest = {row.server_id: row for row in rows}
        rows = [latest[server_id] for server_id in dict.fromkeys(row.server_id for row in rows)]
        maintenance = self._maintenance(session, {row.server_id for row in rows})
        silenced = self._silenced(session, {row.server_id for row in rows}, now)
        tickets: dict[int, list[str]] = {}
        for outage_id, ticket_id in session.execute(
            select(Outage.id, Ticket.id)
            .select_from(Ticket)
            .join(Outage, Outage.id == Ticket.outage_id)
            .where(Outage.storm_id == storm.id)
            .order_by(Ticket.id)
        ):
            tickets.setdefault(outage_id, []).append(f"INT-{ticket_id}")
        members = tuple(
            render.StormMember(
                row.server_id,
                row.name,
                row.started_at,
                row.ended_at,
                monitored=self.catalog.probes_server(row.server_id),
                maintenance_ref=maintenance.get(row.server_id),
                silenced_until=silenced.get(row.server_id),
                tickets=tuple(tickets.get(row.id, ())),
                acknowledged_by=row.acknowledged_by,
            )
            for row in rows
        )
        return render.StormView(
            storm.id,
            storm.started_at,
            storm.ended_at,
            members,
            tuple(self.catalog.team.oncall),
            acknowledged_by=storm.acknowledged_by,
            acknowledged_at=storm.acknowledged_at,
        )

    def _maintenance(self, session: Session, server_ids: set[str]) -> dict[str, str]:
        """Of `server_ids`, those with an open `maintenance` ticket: the ref of the first one."""
        rows = session.execute(
            select(Ticket.server_id, func.min(Ticket.id))
            .where(
                Ticket.server_id.in_(sorted(server_ids)),
                Ticket.kind == TicketKind.MAINTENANCE.value,
                Ticket.status != TicketStatus.RESOLVED,
            )
            .group_by(Ticket.server_id)
        )
        return {server: f"INT-{ticket}" for server, ticket in rows if server is not None}

    def _failing(self, session: Session, server_id: str) -> list[render.ProbeLine]:
        """The server's DOWN probes that are still in the catalog, by key."""
        rows = session.execute(
            select(ProbeState.key, ProbeState.last_error)
            .where(ProbeState.server_id == server_id, ProbeState.status == ProbeStatus.DOWN)
            .order_by(ProbeState.key)
        )
        return [render.ProbeLine(key, error) for key, error in rows if key in self._probes]

    def _silenced(
        self, session: Session, server_ids: Iterable[str], now: datetime
    ) -> dict[str, datetime]:
        """Servers with a silence in force at `now`, with the end of their latest silence."""
        silences = silences_in_force(session, server_ids, now)
        return {server_id: silence.ends_at for server_id, silence in silences.items()}

    def _recently_alerted(self, session: Session, since: datetime, *, exclude: list[int]) -> int:
        """Servers alerted down (alone or in a storm) since `since` and still down, not
        counting `exclude`: a storm is many servers down at once, and one server going down
        after the others came back is an outage of its own."""
        count = session.scalar(
            select(func.count(func.distinct(Outage.server_id)))
            .join(OutboxMessage, OutboxMessage.key == _alerting_post())
            .where(
                OutboxMessage.created_at >= since,
                Outage.ended_at.is_(None),
                Outage.id.not_in(exclude),
                (Outage.root_key.is_not(None)) | (Outage.storm_id.is_not(None)),
            )
        )
        return int(count or 0)

    def _failing_elsewhere(self, session: Session, since: datetime, *, exclude: set[str]) -> int:
        """Servers not in `exclude` with a failing, not yet DOWN, probe streak since `since`."""
        count = session.scalar(
            select(func.count(func.distinct(ProbeState.server_id))).where(
                ProbeState.failures > 0,
                ProbeState.status != ProbeStatus.DOWN,
                ProbeState.streak_started_at >= since,
                ProbeState.server_id.not_in(sorted(exclude)),
            )
        )
        return int(count or 0)

    def _open_storm(self, session: Session) -> OpenStorm | None:
        """The latest storm still open, and when its latest member joined it (its detail was
        queued): members confirmed while silenced joined it when their silence was over."""
        row = session.execute(
            select(AlertStorm.id, func.max(OutboxMessage.created_at))
            .join(Outage, Outage.storm_id == AlertStorm.id)
            .join(OutboxMessage, OutboxMessage.key == _alerting_post())
            .where(AlertStorm.ended_at.is_(None))
            .group_by(AlertStorm.id)
            .order_by(AlertStorm.id.desc())
            .limit(1)
        ).first()
        return None if row is None else OpenStorm(row[0], row[1])

    def _get(self, session: Session, outage_id: int, *, lock: bool = False) -> Outage:
        query = select(Outage).where(Outage.id == outage_id)
        outage = session.scalars(query.with_for_update() if lock else query).one_or_none()
        if outage is None:
            raise UserFacingError("alert.not_found")
        return outage

    def _require_open(self, outage: Outage) -> None:
        """Refuse a button of an outage that is over (the clicker's Slack still showed it)."""
        if outage.ended_at is not None:
            at = local_time(outage.ended_at, self._zone)
            raise UserFacingError("alert.already_recovered", server=outage.server_id, at=at)

    # Writing -----------------------------------------------------------------------------------

    @contextmanager
    def _transaction(self) -> Iterator[Session]:
        with self._sessions.begin() as session:
            yield session
        self._wake()

    def _post(
        self,
        session: Session,
        key: str,
        text: str,
        now: datetime,
        *,
        thread_key: str | None = None,
        blocks: list[dict[str, Any]] | None = None,
    ) -> bool:
        message = Outbound(
            key=key, text=text, blocks=blocks, channel_id=self._channel, thread_key=thread_key
        )
        return add_message(session, message, now=now)

    def _update(
        self, session: Session, target: str, text: str, blocks: list[Any], now: datetime
    ) -> None:
        """Queue an edit of `target`; the caller holds the lock of the row that owns it, so the
        revision number is not taken twice (a taken key would drop this edit)."""
        revisions = session.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.target_key == target)
        )
        message = Outbound(
            key=f"{target}/r{int(revisions or 0) + 1}",
            operation=OutboxOperation.UPDATE,
            target_key=target,
            text=text,
            blocks=blocks,
        )
        add_message(session, message, now=now)

    def _update_outage_root(self, session: Session, outage: Outage, now: datetime) -> None:
        assert outage.root_key is not None
        self._lock_outage(session, outage.id)
        text, blocks = render.outage_root(
            self._view(session, outage, now), self._messages, self._zone
        )
        self._update(session, outage.root_key, text, blocks, now)

    def _update_storm_root(self, session: Session, storm: AlertStorm, now: datetime) -> None:
        view = self._storm_view(session, storm, now)
        text, blocks = render.storm_root(view, self._messages, self._zone)
        self._update(session, storm_root_key(storm.id), text, blocks, now)

    @staticmethod
    def _thread(outage: Outage) -> str:
        """Where the team follows an alerted outage: its root, or its storm's."""
        if outage.root_key is not None:
            return outage.root_key
        assert outage.storm_id is not None, f"outage {outage.id} was never alerted"
        return storm_root_key(outage.storm_id)

    def _lock_outage(self, session: Session, outage_id: int) -> None:
        session.execute(select(Outage.id).where(Outage.id == outage_id).with_for_update())

    def _lock_storm(self, session: Session, storm_id: int) -> AlertStorm:
        return session.scalars(
            select(AlertStorm).where(AlertStorm.id == storm_id).with_for_update()
        ).one()

    def _reason(self, reason: str) -> str:
        return self._messages.get("alert.reason", reason=escape(reason)) if reason else ""
