"""The credit ledger: a breached clock's credit moves eligible → requested → granted | declined.

Each move is a conditional UPDATE on the expected state (two technicians racing: one wins, the
other gets the wrong-state error), audited, and told in the ticket's thread through the outbox,
in the transaction that made it. Amounts follow the report's rules (bot.services.reports).
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session, selectinload

from bot.errors import UserFacingError
from bot.services.audit import Actor, add_audit
from bot.services.base import Service
from bot.services.reports import CreditLine, credit_line
from bot.services.tickets import Reply
from bot.services.views import sla_clock
from bot.sla import ClockState
from bot.slack import render
from bot.storage.credits import mark_eligible
from bot.storage.models import Credit, CreditState, Ticket
from bot.storage.outbox import Outbound, add_message


@dataclass(frozen=True)
class Move:
    """A verb of `/sla credit`: the state it applies to and the state it leads to."""

    source: CreditState
    target: CreditState


MOVES = {
    "request": Move(CreditState.ELIGIBLE, CreditState.REQUESTED),
    "grant": Move(CreditState.REQUESTED, CreditState.GRANTED),
    "decline": Move(CreditState.REQUESTED, CreditState.DECLINED),
}


class CreditService(Service):
    """`/sla credit request|grant|decline`; the caller checks the actor is a technician."""

    def request(self, actor: Actor, ticket_id: int, note: str = "") -> Reply:
        """The client asked for the credit."""
        return self.move(actor, "request", ticket_id, note)

    def grant(self, actor: Actor, ticket_id: int, note: str = "") -> Reply:
        """The requested credit is granted."""
        return self.move(actor, "grant", ticket_id, note)

    def decline(self, actor: Actor, ticket_id: int, note: str = "") -> Reply:
        """The requested credit is declined."""
        return self.move(actor, "decline", ticket_id, note)

    def move(self, actor: Actor, verb: str, ticket_id: int, note: str = "") -> Reply:
        """Apply `verb` to the credit of the ticket's breached clock; UserFacingError if the
        ticket did not breach or its credit is not in the state the verb applies to."""
        step = MOVES[verb]
        with self._transaction() as session:
            ticket = self._load(session, ticket_id)
            now = self._clock()
            # The ledger's row is the breach announced to the client, even for a GTR the probes
            # found met afterwards (its requested credit stays, to be granted or declined).
            credit = session.scalars(
                select(Credit).where(Credit.ticket_id == ticket.id).order_by(Credit.id)
            ).first()
            if credit is None:
                clock_kind, deadline = self._breach(ticket, now)
                # A clock still running past its deadline has no ledger row yet: eligible now.
                mark_eligible(
                    session,
                    ticket_id=ticket.id,
                    clock=clock_kind,
                    client_id=ticket.client_id,
                    breached_at=deadline,
                    now=now,
                    by="system",
                )
                credit = session.scalars(
                    select(Credit).where(Credit.ticket_id == ticket.id, Credit.clock == clock_kind)
                ).one()
            clock_kind = credit.clock
            moved = session.execute(
                update(Credit)
                .where(Credit.id == credit.id, Credit.state == step.source)
                .values(state=step.target, updated_at=now, updated_by=actor.user_id, note=note)
                .execution_options(synchronize_session=False)
            )
            if moved.rowcount != 1:  # type: ignore[attr-defined]
                session.refresh(credit)
                raise UserFacingError(
                    "credit.wrong_state",
                    ref=ticket.ref,
                    clock=clock_kind.upper(),
                    state=self._messages.get(f"credit.state.{credit.state.value}"),
                    verb=verb,
                    expected=self._messages.get(f"credit.state.{step.source.value}"),
                )
            line = self._priced(session, ticket, clock_kind, credit.breached_at, now)
            said = self._messages.get(
                "credit.moved",
                ref=ticket.ref,
                clock=clock_kind.upper(),
                amount=self._messages.money(line.amount),
                month=self._messages.month(line.year, line.month),
                state=self._messages.get(f"credit.state.{step.target.value}"),
                user=actor.user_id,
                capped=(
                    self._messages.get(
                        "credit.capped",
                        full=self._messages.money(line.full_amount),
                        cap=self._messages.money(line.cap),
                        taken=self._messages.money(line.taken),
                    )
                    if line.reduced
                    else ""
                ),
                note=self._messages.get("ticket.note", text=render.escape(note)) if note else "",
            )
            event_id = add_audit(
                session,
                actor,
                f"credit.{step.target.value}",
                at=now,
                ticket_id=ticket.id,
                details={
                    "clock": clock_kind,
                    "from": step.source.value,
                    "to": step.target.value,
                    "breached_at": credit.breached_at.isoformat(),
                    "month": line.month_label,
                    "amount": str(line.amount),
                    "full_amount": str(line.full_amount),
                    "note": note,
                },
            )
            add_message(
                session,
                Outbound(
                    key=f"{ticket.ref}/event/{event_id}",
                    text=said,
                    channel_id=self.catalog.team.alerts_channel,
                    thread_key=ticket.thread_key,
                ),
                now=now,
            )
        return Reply(said)

    def _load(self, session: Session, ticket_id: int) -> Ticket:
        ticket = session.scalars(
            select(Ticket)
            .where(Ticket.id == ticket_id)
            .options(selectinload(Ticket.clocks), selectinload(Ticket.pauses))
            .with_for_update()
        ).one_or_none()
        if ticket is None:
            raise UserFacingError("ticket.not_found", id=ticket_id)
        return ticket

    def _breach(self, ticket: Ticket, now: datetime) -> tuple[str, datetime]:
        """(clock kind, missed deadline) of the breached clock, or why there is none."""
        if not ticket.clocks:
            raise UserFacingError("credit.no_clock", ref=ticket.ref)
        readings = [
            (row, sla_clock(row, ticket.pauses, self.catalog).status(now)) for row in ticket.clocks
        ]
        for row, status in readings:
            if status.state is ClockState.BREACHED:
                return row.kind, status.deadline
        row, status = readings[0]
        budget = timedelta(seconds=row.budget_seconds)
        values = {
            "ref": ticket.ref,
            "clock": row.kind.upper(),
            "taken": render.taken(status.consumed, budget, self._messages),
            "budget": render.duration(budget, self._messages),
        }
        key = "credit.met" if status.state is ClockState.MET else "credit.not_breached"
        raise UserFacingError(key, **values)

    def _priced(
        self,
        session: Session,
        ticket: Ticket,
        clock_kind: str,
        breached_at: datetime,
        now: datetime,
    ) -> CreditLine:
        """The credit's amount by the report's rules: rate × fee, capped in its month."""
        line = credit_line(
            session,
            self.catalog,
            ticket_id=ticket.id,
            client_id=ticket.client_id,
            clock=clock_kind,
            breached_at=breached_at,
            now=now,
        )
        assert line is not None, "the ledger row was written in this transaction"
        return line
