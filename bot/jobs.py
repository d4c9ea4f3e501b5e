"""The scheduler's job table: each job is one call into a service, run in a worker thread.

Jobs read what is due from the database, so a run that is late, skipped or repeated loses and
repeats nothing. Every job is added with the same policy, on purpose:
- `coalesce=True`: runs missed while the loop was busy or the scheduler paused (a follower) are
  one run, not a burst; a sweep covers everything due up to its own `now` anyway.
- `misfire_grace_time=None`: a late run still runs however late (APScheduler would otherwise
  drop it with a warning); there is no such thing as a sweep too late to be useful.
- `max_instances=1`: a sweep slower than its period is not overlapped by the next one
  (APScheduler logs the skipped start).
"""

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy.orm import Session, sessionmaker

from bot.services.alerts import AlertService
from bot.services.reminders import ReminderService
from bot.services.reports import ReportService
from bot.storage.inbound import prune_received
from bot.storage.probes import delete_rollups_before
from bot.storage.threads import in_database_thread

logger = logging.getLogger(__name__)

SWEEP_JOB = "reminders.sweep"
PRUNE_INBOUND_JOB = "inbound.prune"
MONTHLY_REPORT_JOB = "reports.monthly"
MONTHLY_REPORT_EVERY = timedelta(minutes=5)
MILESTONES_JOB = "alerts.milestones"
MILESTONES_EVERY = timedelta(seconds=30)
PRUNE_EVERY = timedelta(hours=1)
INBOUND_KEEP = timedelta(days=1)  # Slack retries an event for minutes; a day is plenty
PRUNE_ROLLUPS_JOB = "probes.prune_history"
ROLLUPS_PER_TRANSACTION = 5_000  # a short write each: commands wait on no long delete

JOB_POLICY: dict[str, Any] = {"coalesce": True, "misfire_grace_time": None, "max_instances": 1}


def schedule_jobs(
    scheduler: AsyncIOScheduler,
    *,
    reminders: ReminderService,
    sessions: sessionmaker[Session],
    clock: Callable[[], datetime],
    sweep_every: timedelta,
    reports: ReportService,
    alerts: AlertService,
    probe_history: timedelta | None = None,
) -> None:
    """Add every periodic job to `scheduler` (started or not); the pruning of probe rollups
    older than `probe_history` only when it is set."""
    scheduler.add_job(
        _in_thread(reminders.sweep),
        "interval",
        seconds=sweep_every.total_seconds(),
        id=SWEEP_JOB,
        name="warnings and nudges sweep",
        replace_existing=True,
        **JOB_POLICY,
    )
    scheduler.add_job(
        _in_thread(lambda: prune_inbound(sessions, clock)),
        "interval",
        seconds=PRUNE_EVERY.total_seconds(),
        id=PRUNE_INBOUND_JOB,
        name="inbound de-duplication pruning",
        replace_existing=True,
        **JOB_POLICY,
    )
    scheduler.add_job(
        _in_thread(lambda: reports.post_monthly_reports_if_due(clock())),
        "interval",
        seconds=MONTHLY_REPORT_EVERY.total_seconds(),
        id=MONTHLY_REPORT_JOB,
        name="monthly report posts (each month once, missed ones too; idempotent)",
        replace_existing=True,
        **JOB_POLICY,
    )
    scheduler.add_job(
        _in_thread(lambda: alerts.post_outage_milestones(clock())),
        "interval",
        seconds=MILESTONES_EVERY.total_seconds(),
        id=MILESTONES_JOB,
        name="outage milestones (15 min, 1 h, 4 h; idempotent)",
        replace_existing=True,
        **JOB_POLICY,
    )
    if probe_history is not None:
        scheduler.add_job(
            _in_thread(lambda: prune_rollups(sessions, clock, keep=probe_history)),
            "interval",
            seconds=PRUNE_EVERY.total_seconds(),
            id=PRUNE_ROLLUPS_JOB,
            name="probe history pruning",
            replace_existing=True,
            **JOB_POLICY,
        )


def run_soon(scheduler: AsyncIOScheduler, job_id: str, *, now: datetime) -> None:
    """Move `job_id`'s next run to `now` (e.g. the catch-up sweep when an instance starts
    leading); its interval goes on from there."""
    job = scheduler.get_job(job_id)
    if job is not None:
        job.modify(next_run_time=now)


def prune_inbound(sessions: sessionmaker[Session], clock: Callable[[], datetime]) -> int:
    """Forget inbound event keys older than INBOUND_KEEP; how many were removed."""
    with sessions.begin() as session:
        removed = prune_received(session, before=clock() - INBOUND_KEEP)
    if removed:
        logger.info("inbound: pruned %d old event key(s)", removed)
    return removed


def prune_rollups(
    sessions: sessionmaker[Session], clock: Callable[[], datetime], *, keep: timedelta
) -> int:
    """Delete the probe rollups of hours older than `keep`, oldest first, a few thousand a
    transaction (the first run after the setting is turned on may have years to delete);
    how many were deleted."""
    before, removed = clock() - keep, 0
    while True:
        with sessions.begin() as session:
            batch = delete_rollups_before(session, before, limit=ROLLUPS_PER_TRANSACTION)
        removed += batch
        if batch < ROLLUPS_PER_TRANSACTION:
            break
    if removed:
        logger.info("probes: deleted %d hourly rollup(s) older than %s", removed, before)
    return removed


def _in_thread(call: Callable[[], object]) -> Callable[[], Any]:
    """A coroutine function running `call` in a worker thread, off the event loop."""

    async def job() -> None:
        await in_database_thread(call)

    job.__name__ = getattr(call, "__name__", "job")
    job.__qualname__ = job.__name__
    return job
