"""`supportbot run` with no Slack credentials: the local mode a new user starts with."""

import json
import os
import signal
import socket
import subprocess
import sys
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


def test_run_without_credentials_starts_the_emulator_and_stops_on_sigterm(tmp_path: Path) -> None:
    """It migrates a new SQLite file, serves /healthz, says where the emulator is, exits 0."""
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
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, output
    assert "local mode" in output
    assert "local Slack emulator at http://127.0.0.1:" in output
    assert (tmp_path / "supportbot.db").exists()
    assert "Traceback" not in output
