"""What /healthz makes of each part's state: a leader is healthy only if its duties run."""

from bot.health import HealthReport


def test_a_leader_whose_probe_engine_failed_is_unhealthy_and_says_why() -> None:
    report = HealthReport(True, True, "host:1", probes_error="OperationalError")
    assert (report.ok, report.http_status) == (False, 503)
    assert report.to_json()["probes"] == {"ok": False, "error": "OperationalError"}


def test_a_follower_runs_no_probes_and_is_healthy() -> None:
    report = HealthReport(True, False, "host:2", leader=False)
    assert (report.ok, report.http_status) == (True, 200)
    assert report.to_json()["probes"] == {"ok": True, "error": None}
