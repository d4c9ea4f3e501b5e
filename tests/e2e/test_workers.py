"""`SUPPORTBOT_WORKERS=2`: two worker processes answer on one port, one of them leads; a worker
killed with SIGKILL is restarted under its id; SIGTERM stops everything cleanly."""

import os
import re
import signal
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from sqlalchemy.engine import URL

from bot.sandbox import EmulatorThread, driver
from bot.services.leader import SCHEDULER_LEASE
from bot.storage.database import make_engine, make_sessionmaker, reading
from bot.storage.leases import get_lease
from bot.storage.models import Server
from tests.e2e.processes import ALERTS, REPO, SUPPORTBOT, TECH, BotProcess, fast_workspace

WORKERS = ("bot-w/w1", "bot-w/w2")


def workers_of(supervisor: int) -> set[int]:
    """The pids of the supervisor's worker processes (not multiprocessing's resource tracker)."""
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parent = int(stat.read_text().rsplit(")", 1)[1].split()[1])
            command = (stat.parent / "cmdline").read_bytes()
        except (OSError, IndexError):
            continue  # gone meanwhile
        if parent == supervisor and b"spawn_main" in command:
            found.add(int(stat.parent.name))
    return found


def health_of_each_worker(bot: BotProcess, timeout_s: float = 60) -> dict[str, dict[str, Any]]:
    """/healthz of every worker: each request opens a new connection, the kernel picks one."""
    seen: dict[str, dict[str, Any]] = {}
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and set(seen) != set(WORKERS):
        assert bot.process is not None
        assert bot.process.poll() is None, bot.log.read_text()
        health = bot.health()
        if health is not None:
            seen[health["instance"]] = health
        else:
            time.sleep(0.05)
    assert set(seen) == set(WORKERS), (seen, bot.log.read_text())
    return seen


def settled_leadership(healths: dict[str, dict[str, Any]]) -> bool:
    """Exactly one worker leads, and every worker names it as the lease's holder."""
    leaders = [instance for instance, health in healths.items() if health["leader"]]
    return len(leaders) == 1 and {h["leader_instance"] for h in healths.values()} == set(leaders)


def wait_for(condition: Any, bot: BotProcess, timeout_s: float = 60) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if value := condition():
            return value
        time.sleep(0.05)
    raise AssertionError(f"condition never held; the bot's log:\n{bot.log.read_text()}")


def test_two_workers_share_the_port_and_survive_a_killed_worker(
    slack: EmulatorThread, tmp_path: Path, database_url: URL
) -> None:
    catalog = fast_workspace(slack, tmp_path)
    bot = BotProcess(slack, database_url, catalog, tmp_path / "bot.log", "bot-w", workers=2)
    try:
        bot.start()
        assert bot.process is not None
        # One leader, and both agree which. The election may still be under way when both
        # workers first answer (a first campaign slower than its round is retried the next one).
        wait_for(lambda: settled_leadership(health_of_each_worker(bot)), bot)
        slack.bot_url = bot.url

        def open_ticket(n: int) -> str:
            reply = slack.send_slash_command(
                "/intervention", f"open fast-01 secours down {n}", user_id=TECH, channel_id=ALERTS
            )
            assert reply.status == 200, reply.body
            found = re.search(r"INT-\d+", reply.body)
            assert found, reply.body
            return found.group()

        with ThreadPoolExecutor(10) as pool:
            refs = list(pool.map(open_ticket, range(10)))
        assert len(set(refs)) == 10
        # The leader's outbox sender posts every root, those queued by the other worker too.
        wait_for(lambda: all(any(r in m.text for m in slack.messages(ALERTS)) for r in refs), bot)

        before = workers_of(bot.process.pid)
        assert len(before) == 2
        victim = min(before)
        os.kill(victim, signal.SIGKILL)
        # Restarted (a new process, the same instance id), both workers answer again.
        wait_for(
            lambda: len(after := workers_of(bot.process.pid)) == 2 and victim not in after, bot
        )
        health_of_each_worker(bot)
        assert open_ticket(10) not in refs
        assert re.search(r"worker \d exited \(code -9\); restarting it", bot.log.read_text())

        bot.process.send_signal(signal.SIGTERM)
        assert bot.process.wait(60) == 0
        assert workers_of(bot.process.pid) == set()
    finally:
        bot.terminate()


def alive(pid: int) -> bool:
    """Whether `pid` runs (a zombie, dead but not reaped by its new parent, does not)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def test_workers_stop_when_their_supervisor_is_killed_alone(
    slack: EmulatorThread, tmp_path: Path, database_url: URL
) -> None:
    """SIGKILL to the supervisor only (a process manager killing the main pid): its workers
    stop by themselves, giving the lease up, instead of serving on as orphans beside the
    workers of the restarted supervisor, which reuse their instance ids: an orphan leader and
    the new worker of its id would both hold the one lease and both lead."""
    catalog = fast_workspace(slack, tmp_path)
    bot = BotProcess(slack, database_url, catalog, tmp_path / "bot.log", "bot-w", workers=2)
    orphans: set[int] = set()
    try:
        bot.start()
        assert bot.process is not None
        wait_for(lambda: settled_leadership(health_of_each_worker(bot)), bot)
        orphans = workers_of(bot.process.pid)
        assert len(orphans) == 2
        bot.kill()  # the supervisor alone
        wait_for(lambda: not any(alive(pid) for pid in orphans), bot, timeout_s=20)
        engine = make_engine(database_url)
        try:  # stopped cleanly: the lease is given up
            with reading(make_sessionmaker(engine)) as session:
                assert get_lease(session, SCHEDULER_LEASE) is None
        finally:
            engine.dispose()
        bot.start()
        assert bot.process is not None
        wait_for(lambda: settled_leadership(health_of_each_worker(bot)), bot)
        assert not workers_of(bot.process.pid) & orphans
        bot.process.send_signal(signal.SIGTERM)
        assert bot.process.wait(60) == 0
    finally:
        bot.terminate()
        for pid in orphans:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)


def test_a_restarted_worker_runs_the_catalog_its_supervisor_loaded(
    slack: EmulatorThread, tmp_path: Path, database_url: URL
) -> None:
    """The catalog file edited while the bot runs, to be applied at its next restart; then a
    worker dies and is restarted. It runs the catalog the other workers run, the one the
    supervisor loaded: it neither mirrors the edit into the database nor answers with it, so
    the same command does not succeed or fail depending on which worker the kernel picks."""
    catalog = fast_workspace(slack, tmp_path)
    bot = BotProcess(slack, database_url, catalog, tmp_path / "bot.log", "bot-w", workers=2)

    def open_on_a_new_connection(server: str) -> str:
        text = f"open {server} secours down"
        form = driver.slash_command(
            slack.emulator, "/intervention", text, user_id=TECH, channel_id=ALERTS
        )
        reply = slack.send_http(urlencode(form), headers={"Connection": "close"})
        assert reply.status == 200, reply.body
        return reply.body

    try:
        bot.start()
        assert bot.process is not None
        wait_for(lambda: settled_leadership(health_of_each_worker(bot)), bot)
        slack.bot_url = bot.url
        server = '[[servers]]\nid = "new-01"\nclient = "fastco"\nhost = "127.0.0.1"\n'
        catalog.write_text(f"{catalog.read_text()}\n{server}")
        victim = max(workers_of(bot.process.pid))
        os.kill(victim, signal.SIGKILL)
        wait_for(
            lambda: len(after := workers_of(bot.process.pid)) == 2 and victim not in after, bot
        )
        health_of_each_worker(bot)
        answers = {open_on_a_new_connection("new-01") for _ in range(12)}  # both workers, surely
        assert all("Unknown server `new-01`" in answer for answer in answers), answers
        assert all("registered" in open_on_a_new_connection("fast-01") for _ in range(4))
        engine = make_engine(database_url)
        try:
            with reading(make_sessionmaker(engine)) as session:
                assert session.get(Server, "new-01") is None
        finally:
            engine.dispose()
    finally:
        bot.terminate()


def test_workers_slack_refuses_the_app_token_of_stop_saying_so(
    slack: EmulatorThread, database_url: URL, tmp_path: Path
) -> None:
    """A mistyped SLACK_APP_TOKEN with two workers: each worker was restarted forever (and,
    before, never finished starting); the supervisor now stops them all and exits 2."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "SUPPORTBOT_"))}
    env |= {
        "PYTHONPATH": str(REPO),
        "SLACK_BOT_TOKEN": slack.bot_token,
        "SLACK_APP_TOKEN": "xapp-1-A0SUPPORTBOT-mistyped",
        "SUPPORTBOT_SLACK_API_URL": slack.api_url,
        "SUPPORTBOT_DATABASE_URL": database_url.render_as_string(hide_password=False),
        "SUPPORTBOT_CATALOG": str(REPO / "examples" / "catalog.toml"),
        "SUPPORTBOT_HOST": "127.0.0.1",
        "SUPPORTBOT_PORT": "0",
        "SUPPORTBOT_WORKERS": "2",
    }
    done = subprocess.run(
        [SUPPORTBOT, "run"], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2, done.stderr
    assert "Slack refused SLACK_APP_TOKEN (invalid_auth)" in done.stderr
    assert done.stderr.endswith("Slack refused its credentials (logged above)\n")
    assert "restarting it" not in done.stderr
