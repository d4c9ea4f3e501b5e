"""`supportbot sla due|calendar` on the example catalog: output, and exit 2 on bad input.

essentiel has a 4 h GTI on business hours; premium a 4 h GTR on the 24/7 calendar.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.__main__ import main

CATALOG = Path(__file__).resolve().parents[2] / "examples" / "catalog.toml"
SUPPORTBOT = Path(sys.executable).parent / "supportbot"


def sla(*args: str) -> list[str]:
    """The argv of an `sla` subcommand on the example catalog."""
    return ["sla", *args, "--catalog", str(CATALOG)]


def due(*args: str) -> list[str]:
    """`sla due` for essentiel's GTI: 4 h on business hours."""
    return sla("due", "--level", "essentiel", "--clock", "gti", *args)


def test_friday_evening_4h_on_business_hours_is_due_saturday_noon(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The contract's example prints the deadline with the Paris offset."""
    assert main(due("--start", "2026-11-27T18:00")) == 0
    assert capsys.readouterr().out == "2026-11-28T12:00:00+01:00\n"


def test_an_instant_with_an_offset_is_taken_as_written(capsys: pytest.CaptureFixture[str]) -> None:
    """17:00Z is 18:00 in Paris: same deadline."""
    assert main(due("--start", "2026-11-27T17:00:00Z")) == 0
    assert capsys.readouterr().out == "2026-11-28T12:00:00+01:00\n"


def test_a_24_7_level_is_due_four_hours_later(capsys: pytest.CaptureFixture[str]) -> None:
    """premium runs GTR on the always-open calendar."""
    argv = sla("due", "--level", "premium", "--clock", "gtr", "--start", "2026-11-27T18:00")
    assert main(argv) == 0
    assert capsys.readouterr().out == "2026-11-27T22:00:00+01:00\n"


def test_with_a_stop_it_prints_met_and_the_open_time_consumed(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Stopped Saturday 11:10: met after 3h10m of open time."""
    assert main(due("--start", "2026-11-27T18:00", "--stop", "2026-11-28T11:10")) == 0
    assert capsys.readouterr().out == "2026-11-28T12:00:00+01:00\nmet 3h10m\n"


def test_pauses_move_the_deadline_and_a_late_stop_is_breached(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Paused 10:00-11:00 Saturday: due 13:00; stopped 14:00 is breached after 5h."""
    argv = due(
        "--start",
        "2026-11-27T18:00",
        "--pause",
        "2026-11-28T10:00/2026-11-28T11:00",
        "--stop",
        "2026-11-28T14:00",
    )
    assert main(argv) == 0
    assert capsys.readouterr().out == "2026-11-28T13:00:00+01:00\nbreached 5h\n"


def test_a_local_time_the_clocks_repeat_is_refused_naming_both_instants(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """02:30 on 2026-10-25 happens twice in Paris: taking the first silently put the deadline
    an hour off for whoever meant the second. Refused, naming both; an offset chooses."""
    assert main(due("--start", "2026-10-25T02:30")) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "--start: '2026-10-25T02:30' is ambiguous in Europe/Paris" in captured.err
    assert "2026-10-25T02:30:00+02:00 or 2026-10-25T02:30:00+01:00" in captured.err
    assert "offset" in captured.err
    for stop in ("2026-10-25T02:30", "2026-10-25T02:59:59"):
        argv = sla("due", "--level", "premium", "--clock", "gtr", "--start", "2026-10-24T18:00")
        assert main([*argv, "--stop", stop]) == 2
        assert f"--stop: '{stop}' is ambiguous" in capsys.readouterr().err
    # Either 02:30, written with its offset, is taken: premium's 24/7 GTR is 4 h of real time.
    argv = sla("due", "--level", "premium", "--clock", "gtr", "--start", "2026-10-25T02:30+01:00")
    assert main(argv) == 0
    assert capsys.readouterr().out == "2026-10-25T06:30:00+01:00\n"
    argv = sla("due", "--level", "premium", "--clock", "gtr", "--start", "2026-10-25T02:30+02:00")
    assert main(argv) == 0
    assert capsys.readouterr().out == "2026-10-25T05:30:00+01:00\n"


def test_a_local_time_the_clocks_skip_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    """02:30 on 2026-03-29 never happens in Paris (01:59 CET is followed by 03:00 CEST)."""
    argv = due("--start", "2026-03-27T18:00", "--pause", "2026-03-29T02:30/2026-03-30T10:00")
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "--pause: '2026-03-29T02:30' does not exist in Europe/Paris" in captured.err
    assert "UTC+01:00 to UTC+02:00" in captured.err
    # The hour before the gap and the hour after it are plain local times.
    argv = sla("due", "--level", "premium", "--clock", "gtr", "--start", "2026-03-29T01:30")
    assert main(argv) == 0
    assert capsys.readouterr().out == "2026-03-29T06:30:00+02:00\n"


def test_calendar_prints_local_windows(capsys: pytest.CaptureFixture[str]) -> None:
    """Christmas week: 24 and 25 December closed (and said so), weekend 09:00-18:00."""
    argv = sla(
        "calendar", "--level", "essentiel", "--clock", "gti", "--from", "2026-12-23", "--days", "4"
    )
    assert main(argv) == 0
    assert capsys.readouterr().out.splitlines() == [
        "2026-12-23T09:00:00+01:00/2026-12-23T19:00:00+01:00 (Wed, 10h)",
        "2026-12-24 (Thu, closed)",
        "2026-12-25 (Fri, closed)",
        "2026-12-26T09:00:00+01:00/2026-12-26T18:00:00+01:00 (Sat, 9h)",
    ]


def test_calendar_of_a_24_7_clock_is_clipped_to_the_days_and_counts_dst(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Three always-open days over the October change last 73 h."""
    argv = sla(
        "calendar", "--level", "critique", "--clock", "gtr", "--from", "2026-10-24", "--days", "3"
    )
    assert main(argv) == 0
    assert capsys.readouterr().out == (
        "2026-10-24T00:00:00+02:00/2026-10-27T00:00:00+01:00 (Sat, 3d1h)\n"
    )


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            sla("due", "--level", "gold", "--clock", "gti", "--start", "2026-11-27T18:00"),
            "unknown level 'gold'",
        ),
        (due("--start", "friday 6pm"), "not an ISO-8601 instant"),
        (
            due("--start", "2026-11-27T18:00", "--pause", "2026-11-28T11:00/2026-11-28T10:00"),
            "ends before it starts",
        ),
        (
            due("--start", "2026-11-27T18:00", "--pause", "2026-11-27T10:00/2026-11-27T11:00"),
            "starts before the clock",
        ),
        (
            due(
                "--start",
                "2026-11-27T18:00",
                "--pause",
                "2026-11-28T10:00/2026-11-28T11:00",
                "--stop",
                "2026-11-28T10:30",
            ),
            "after the clock stops",
        ),
        (due("--start", "2026-11-27T18:00", "--pause", "2026-11-28T10:00"), "START/END"),
        (due("--start", "2026-11-27T18:00", "--stop", "2026-11-27T17:00"), "stops before"),
        (
            sla(
                "calendar",
                "--level",
                "essentiel",
                "--clock",
                "gti",
                "--from",
                "soon",
                "--days",
                "2",
            ),
            "not a date",
        ),
        (
            sla(
                "calendar",
                "--level",
                "essentiel",
                "--clock",
                "gti",
                "--from",
                "2026-12-01",
                "--days",
                "0",
            ),
            "--days must be between",
        ),
        # These three ended in an OverflowError traceback.
        (due("--start", "9999-12-31T23:00"), "dates out of range"),
        (due("--start", "0001-01-01T00:00"), "dates out of range"),
        (
            sla(
                "calendar",
                "--level",
                "essentiel",
                "--clock",
                "gti",
                "--from",
                "9999-12-30",
                "--days",
                "5",
            ),
            "dates out of range",
        ),
    ],
    ids=[
        "unknown-level",
        "malformed-instant",
        "pause-ends-before-it-starts",
        "pause-before-the-start",
        "pause-after-the-stop",
        "pause-without-end",
        "stop-before-start",
        "malformed-date",
        "zero-days",
        "deadline-past-9999",
        "start-before-year-1-in-utc",
        "calendar-past-9999",
    ],
)
def test_bad_input_exits_2_with_a_message_and_no_traceback(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Bad input is a usage error: exit code 2, one clear line on stderr, nothing on stdout."""
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert message in captured.err
    assert "Traceback" not in captured.err
    assert captured.out == ""


def test_a_bad_catalog_exits_2_naming_its_problems(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An invalid catalog is reported like check-config does."""
    broken = tmp_path / "catalog.toml"
    broken.write_text('timezone = "Mars/Olympus"\n', encoding="utf-8")
    argv = ["sla", "due", "--level", "essentiel", "--clock", "gti", "--start", "2026-11-27T18:00"]
    assert main([*argv, "--catalog", str(broken)]) == 2
    err = capsys.readouterr().err
    assert "problem(s)" in err
    assert "unknown time zone" in err


def test_a_missing_catalog_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A catalog path that does not exist is a usage error."""
    argv = ["sla", "calendar", "--level", "essentiel", "--clock", "gti"]
    argv += ["--from", "2026-12-01", "--days", "1", "--catalog", str(tmp_path / "none.toml")]
    assert main(argv) == 2
    assert "file not found" in capsys.readouterr().err


def test_the_installed_console_script_prints_the_deadline() -> None:
    """`supportbot sla due` as installed in the venv gives the contract's example."""
    result = subprocess.run(
        [str(SUPPORTBOT), *due("--start", "2026-11-27T18:00")],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "2026-11-28T12:00:00+01:00\n"


def test_the_installed_console_script_exits_2_on_bad_input_without_traceback() -> None:
    """A malformed instant through the real entry point: exit 2, a message, no traceback."""
    result = subprocess.run(
        [str(SUPPORTBOT), *due("--start", "2026-13-45T18:00")],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 2
    assert "--start: not an ISO-8601 instant" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("buffered", [True, False], ids=["buffered", "unbuffered"])
def test_a_reader_that_stops_reading_gets_no_traceback(
    buffered: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`supportbot sla calendar … | head` used to end in a BrokenPipeError traceback."""
    if buffered:
        monkeypatch.delenv("PYTHONUNBUFFERED", raising=False)
    else:
        monkeypatch.setenv("PYTHONUNBUFFERED", "1")
    argv = sla("calendar", "--level", "premium", "--clock", "gti", "--from", "2026-01-01")
    reader, writer = os.pipe()
    os.close(reader)  # gone before the first line: every write fails with EPIPE
    try:
        result = subprocess.run(
            [SUPPORTBOT, *argv, "--days", "400"],
            stdout=writer,
            stderr=subprocess.PIPE,
            text=True,
            timeout=60,
        )
    finally:
        os.close(writer)
    assert result.stderr == ""
    assert result.returncode == 1


def test_a_command_started_with_stdout_closed_gets_no_traceback() -> None:
    """`supportbot sla due … >&-` (a daemon or cron line with no stdout) ended in an
    AttributeError traceback: Python gives no sys.stdout to flush then. The command's own
    exit code is kept (`run` prints nothing there)."""
    result = subprocess.run(
        ["sh", "-c", 'exec "$@" >&-', "sh", SUPPORTBOT, *due("--start", "2026-11-27T18:00")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        timeout=60,
    )
    assert result.stderr == ""
    assert result.returncode == 0
