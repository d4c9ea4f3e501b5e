"""What `GET /healthz` reports: the database answers, the scheduler and the probe engine run on
the leader, Slack reaches the bot (over Socket Mode, its connection is up), and which instance
leads (a follower is healthy with its scheduler stopped)."""

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class HealthReport:
    database_ok: bool
    scheduler_running: bool
    instance: str
    database_error: str | None = None
    details: dict[str, Any] = field(default_factory=dict)
    leader: bool = True  # whether this instance holds the scheduler lease
    leader_instance: str | None = None  # the instance that does (None: nobody, or unknown)
    probes_error: str | None = None  # the leader's probe engine failed and is not running
    socket_mode_connected: bool | None = None  # None over HTTP: Slack connects to the bot

    @property
    def ok(self) -> bool:
        leading_well = self.scheduler_running and self.probes_error is None
        reachable = self.socket_mode_connected is not False  # else no command can come in
        return self.database_ok and reachable and (leading_well or not self.leader)

    @property
    def http_status(self) -> int:
        return 200 if self.ok else 503

    def to_json(self) -> dict[str, Any]:
        return {
            "status": "ok" if self.ok else "unhealthy",
            "instance": self.instance,
            "database": {"ok": self.database_ok, "error": self.database_error},
            "scheduler": {"running": self.scheduler_running},
            "probes": {"ok": self.probes_error is None, "error": self.probes_error},
            "socket_mode": (
                None
                if self.socket_mode_connected is None
                else {"connected": self.socket_mode_connected}
            ),
            "leader": self.leader,
            "leader_instance": self.leader_instance,
            **self.details,
        }
