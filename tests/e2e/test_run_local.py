"""`supportbot run` with no Slack credentials: the local mode a new user starts with."""

import json
import os
import pty
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

SUPPORTBOT = Path(sys.executable).with_name("supportbot")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_health(port: int, process: subprocess.Popen[str], timeout_s: float = 60) -> dict:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert process.poll() is None, process.stdout.read() if process.stdout else ""
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as reply:
                return dict(json.load(reply))
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.1)
    raise AssertionError("the bot never answered /healthz")


def listening_on(port: int) -> set[str]:
    """The IPv4 addresses a socket listens on at `port`, from the kernel's table."""
    found = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        local, _, state = line.split()[1:4]
        address, _, hex_port = local.partition(":")
        if state == "0A" and int(hex_port, 16) == port:  # 0A: LISTEN
            found.add(socket.inet_ntoa(bytes.fromhex(address)[::-1]))
    return found


def test_run_without_credentials_starts_the_emulator_and_stops_on_sigterm(tmp_path: Path) -> None:
    """It migrates a new SQLite file, serves /healthz, says where the emulator is (and that
    there is no console without a terminal), exits 0."""
    port = free_port()
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("SLACK_", "SUPPORTBOT_"))
    }
    env["SUPPORTBOT_PORT"] = str(port)
    process = subprocess.Popen(
        [SUPPORTBOT, "run"],
        cwd=tmp_path,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        health = wait_for_health(port, process)
        assert health["status"] == "ok"
        assert listening_on(port) == {"127.0.0.1"}  # a bot for trying out answers no network
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, output
    assert "local mode" in output
    assert "local Slack emulator at http://127.0.0.1:" in output
    assert "No console: standard input is not a terminal." in output  # /dev/null: not typed
    assert (tmp_path / "supportbot.db").exists()
    assert "Traceback" not in output


def test_the_local_slack_outlives_a_restart(tmp_path: Path) -> None:
    """Open a ticket, restart, claim it: the claim's thread post and root edit still find the
    messages the first run posted (the emulator's workspace is kept beside the database)."""
    port = free_port()
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("SLACK_", "SUPPORTBOT_"))
    }
    env |= {"SUPPORTBOT_PORT": str(port), "SUPPORTBOT_LANGUAGE": "en"}
    database = tmp_path / "supportbot.db"

    def unsent() -> int:
        with sqlite3.connect(database) as connection:
            (count,) = connection.execute(
                "SELECT count(*) FROM outbox_messages WHERE status != 'sent'"
            ).fetchone()
        return int(count)

    def run(command: str, expected: str) -> str:
        """One `supportbot run` with a terminal: type `command`, wait for `expected` among
        the posts and for the outbox to be drained, stop."""
        terminal, console = pty.openpty()  # the console reads commands from a terminal only
        process = subprocess.Popen(
            [SUPPORTBOT, "run"],
            cwd=tmp_path,
            env=env,
            stdin=console,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        os.close(console)
        lines: list[str] = []
        reader = threading.Thread(target=lambda: lines.extend(process.stdout or []), daemon=True)
        reader.start()
        try:
            wait_for_health(port, process)
            os.write(terminal, f"{command}\n".encode())
            deadline = time.monotonic() + 30
            while not (any(expected in line for line in list(lines)) and unsent() == 0):
                assert time.monotonic() < deadline, "".join(lines)
                time.sleep(0.1)
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=60)
        finally:
            if process.poll() is None:
                process.kill()
            os.close(terminal)
        reader.join(10)
        assert process.returncode == 0, "".join(lines)
        return "".join(lines)

    run("/intervention open acme-web-01 secours Site down", "[slack] C01ALERTS")
    assert (tmp_path / "supportbot.db-slack.json").exists()
    second = run("/intervention claim INT-1", "INT-1 claimed by")
    assert "message(s) restored" in second
    assert "could not be delivered" not in second
    with sqlite3.connect(database) as connection:
        statuses = connection.execute("SELECT DISTINCT status FROM outbox_messages").fetchall()
    assert statuses == [("sent",)]


def test_a_port_taken_by_another_program_is_said_so(tmp_path: Path) -> None:
    """`make run` while port 3000 is taken used to end in aiohttp's OSError traceback."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("SLACK_", "SUPPORTBOT_"))
    }
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = int(taken.getsockname()[1])
        env |= {"SUPPORTBOT_PORT": str(port), "SUPPORTBOT_HOST": "127.0.0.1"}
        result = subprocess.run(
            [SUPPORTBOT, "run"],
            cwd=tmp_path,
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 2, result.stderr
    assert (
        f"cannot listen on 127.0.0.1:{port}: another program listens on that port" in result.stderr
    )
    assert "Traceback" not in result.stderr
