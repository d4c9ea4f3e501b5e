"""`supportbot run` as a real process against the emulator of the test: start, probe, SIGKILL."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.engine import URL

from bot.sandbox import EmulatorThread

SUPPORTBOT = Path(sys.executable).with_name("supportbot")
TECH, ONCALL, ALERTS = "U01AAA", "U01ONCALL", "C01ALERTS"
REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class BotProcess:
    """One `supportbot run` slot: restartable on the same port, database and instance id."""

    slack: EmulatorThread
    database_url: URL
    catalog: Path
    log: Path
    instance_id: str
    sweep_seconds: float = 2.0
    port: int = field(default_factory=free_port)
    workers: int = 1
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/slack/events"

    def start(self) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "SUPPORTBOT_"))}
        env |= {
            "PYTHONPATH": str(REPO),
            "SLACK_BOT_TOKEN": self.slack.bot_token,
            "SLACK_SIGNING_SECRET": self.slack.signing_secret,
            "SUPPORTBOT_SLACK_API_URL": self.slack.api_url,
            "SUPPORTBOT_DATABASE_URL": self.database_url.render_as_string(hide_password=False),
            "SUPPORTBOT_CATALOG": str(self.catalog),
            "SUPPORTBOT_PORT": str(self.port),
            "SUPPORTBOT_HOST": "127.0.0.1",
            "SUPPORTBOT_LANGUAGE": "en",
            "SUPPORTBOT_INSTANCE_ID": self.instance_id,
            "SUPPORTBOT_SWEEP_SECONDS": str(self.sweep_seconds),
            "SUPPORTBOT_WORKERS": str(self.workers),
        }
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [SUPPORTBOT, "run"],
                cwd=self.log.parent,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def health(self) -> dict[str, Any] | None:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=2) as r:
                return dict(json.load(r))
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            return None

    def wait_healthy(self, *, leader: bool | None = None, timeout_s: float = 40) -> dict[str, Any]:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            assert self.process is not None
            assert self.process.poll() is None, self.log.read_text()
            health = self.health()
            if health is not None and (leader is None or health["leader"] is leader):
                return health
            time.sleep(0.05)
        raise AssertionError(f"{self.instance_id} never became healthy (leader={leader})")

    def kill(self) -> None:
        """SIGKILL: no cleanup at all, the lease is left to expire."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)

    def terminate(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)


def short_catalog(path: Path, *, oncall: str, technicians: list[str], alerts: str) -> Path:
    """A catalog with minutes-long clocks on a 24/7 calendar: GTR 3m, GTI 2m, nudges every 1m."""
    path.write_text(
        f"""
timezone = "Europe/Paris"

[calendars.always]
always_open = true

[levels.fast]
gti = "2m"
gtr = "3m"
calendar = "always"
monthly_interventions = 100
monthly_fee = 100.0

[policy]
update_every = "1m"
warn_at = [0.5, 0.75, 0.9]
warn_before = "30s"

[team]
technicians = {json.dumps(technicians)}
oncall = ["{oncall}"]
alerts_channel = "{alerts}"

[[clients]]
id = "fastco"
name = "Fast Co"
level = "fast"

[[servers]]
id = "fast-01"
client = "fastco"
host = "127.0.0.1"
"""
    )
    return path


def fast_workspace(slack: EmulatorThread, folder: Path) -> Path:
    """The emulator without rate limits, with the alert channel, a technician and the on-call;
    the short catalog for them, written in `folder`."""
    slack.rate_limit = False
    slack.add_channel(ALERTS, name="alerts")
    for user in (TECH, ONCALL):
        slack.add_user(user)
    return short_catalog(folder / "catalog.toml", oncall=ONCALL, technicians=[TECH], alerts=ALERTS)
