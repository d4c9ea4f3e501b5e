"""`supportbot outbox send`, the sender run on its own, writes ticket roots as the bot does."""

from sqlalchemy.engine import URL
from sqlalchemy.orm import Session, sessionmaker

from bot.sandbox import EmulatorThread
from bot.sla import TicketKind
from bot.slack.ids import Action
from tests.outbox.harness import sender_process, wait_drained
from tests.services.history import open_ticket, paris, services


def test_the_sender_command_writes_a_ticket_root_with_its_buttons(
    slack: EmulatorThread, sessions: sessionmaker[Session], database_url: URL
) -> None:
    """The root queued by `open` goes out written (title, clock, Claim button), not as the
    plain fallback a sender without the ticket renderer would send."""
    h = services(sessions)
    alerts = h.catalog.team.alerts_channel
    slack.add_channel(alerts)
    open_ticket(h, paris(11, 26, 9), "acme-web-01", TicketKind.SECOURS, "site down")
    with sender_process(slack, database_url):
        wait_drained(sessions, timeout_s=15)
    (root,) = slack.messages(alerts)
    assert root.text.startswith("INT-1")
    actions = [e.get("action_id") for b in root.blocks or [] for e in b.get("elements", [])]
    assert Action.CLAIM.value in actions
    assert "GTI" in str(root.blocks)
