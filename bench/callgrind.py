"""Instructions executed by parts of a bench, counted by valgrind's callgrind.

CPU time on this kind of VM varies by ±30 % from one minute to the next (and by 2x within a
session), which hides a 10 % gain. An instruction count is the same at every run of the same
code on the same data, whatever else the machine does, so two versions can be compared one
after the other. It is not a time: memory stalls and the interpreter's build weigh differently.

A bench calls `rerun_under_callgrind()` when asked to count: the script starts again under
valgrind with instrumentation off (a tenth of callgrind's cost while it seeds its database),
and the first `count(work)` turns it on, through `callgrind_control`.
"""

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import NoReturn

FOLDER = "SUPPORTBOT_BENCH_CALLGRIND"  # set in the rerun: where callgrind writes its dumps


def under_callgrind() -> bool:
    return FOLDER in os.environ


def rerun_under_callgrind(script: str, argv: list[str]) -> NoReturn:
    """Run `script` with `argv` again under callgrind, and exit with its exit code."""
    if shutil.which("valgrind") is None or shutil.which("callgrind_control") is None:
        raise SystemExit("counting instructions needs valgrind (apt-get install valgrind)")
    folder = tempfile.mkdtemp(prefix="callgrind-")
    # A fixed hash seed: the same dict and set layouts, so the same instructions, at every run.
    env = {**os.environ, FOLDER: folder, "PYTHONHASHSEED": "0"}
    command = [
        "valgrind",
        "--quiet",
        "--tool=callgrind",
        "--instr-atstart=no",
        f"--callgrind-out-file={folder}/out",
        sys.executable,
        script,
        *argv,
    ]
    try:
        code = subprocess.run(command, env=env, check=False).returncode
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    raise SystemExit(code)


def count(work: Callable[[], object]) -> int:
    """Instructions executed by `work()`, less those of asking callgrind for the count."""
    return max(0, _counted(work) - _overhead())


@cache
def _overhead() -> int:
    return min(_counted(lambda: None) for _ in range(3))


@cache
def _instrument() -> None:
    """From now on, callgrind instruments (about 50 times slower): once, before the first
    count, after the bench has seeded its data."""
    _control("--instr=on", str(os.getpid()))


def _counted(work: Callable[[], object]) -> int:
    _instrument()
    pid = str(os.getpid())
    _control("--zero", pid)
    work()
    _control("--dump", pid)  # what was counted since the zero, in a file of its own
    return _latest_dump_total()


def _control(*args: str) -> None:
    subprocess.run(["callgrind_control", *args], check=True, capture_output=True)


def _latest_dump_total() -> int:
    folder = Path(os.environ[FOLDER])
    dumps = [p for p in folder.glob("out.*") if p.suffix[1:].isdigit()]
    if not dumps:
        raise RuntimeError(f"callgrind wrote no dump in {folder}")
    latest = max(dumps, key=lambda p: int(p.suffix[1:]))
    for line in latest.read_text().splitlines():
        if line.startswith("totals:") or line.startswith("summary:"):
            return int(line.split()[1])
    raise RuntimeError(f"no total in {latest}")
