"""Real ICMP outages inside a network namespace the test creates (iptables drops the pings).

Needs root, `ip netns` and iptables. Skips, saying why, where they are missing; fails in CI.
"""

import json
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.probes.support import T0, unavailable

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def netns() -> Iterator[str]:
    """A fresh network namespace with lo up; always deleted afterwards."""
    if os.geteuid() != 0:
        unavailable("network namespaces need root")
    for tool in ("ip", "iptables"):
        if shutil.which(tool) is None:
            unavailable(f"{tool} is not installed (apt-get install -y iproute2 iptables)")
    name = f"sbprobe-{uuid.uuid4().hex[:8]}"
    created = subprocess.run(["ip", "netns", "add", name], capture_output=True, text=True)
    if created.returncode != 0:
        unavailable(f"cannot create a network namespace: {created.stderr.strip()}")
    try:
        subprocess.run(["ip", "netns", "exec", name, "ip", "link", "set", "lo", "up"], check=True)
        yield name
    finally:
        subprocess.run(["ip", "netns", "del", name], check=False)


def in_netns(name: str, *command: str, prefix: tuple[str, ...] = ()) -> str:
    """Run a command in the namespace; return its stdout."""
    done = subprocess.run(
        ["ip", "netns", "exec", name, *prefix, *command],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def drop_icmp(name: str, *rule: str) -> None:
    done = subprocess.run(
        ["ip", "netns", "exec", name, "iptables", "-A", "INPUT", "-p", "icmp", *rule, "-j", "DROP"],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        unavailable(f"iptables cannot filter in the namespace: {done.stderr.strip()}")


def sweeps(
    name: str,
    db: Path,
    *targets: str,
    count: int,
    start: float = 0,
    prefix: tuple[str, ...] = (),
    kind: str = "icmp",
    listen: str = "127.0.0.1",
) -> list[dict[str, Any]]:
    """Sweeps of the real engine in the namespace, 5 s apart on the injected clock; ICMP
    probes, or TCP or HTTP ones to a server the sweeping process runs on `listen` (`kind`)."""
    at = (T0 + timedelta(seconds=start)).isoformat()
    out = in_netns(
        name,
        sys.executable,
        "-m",
        "tests.probes.netns_sweep",
        "--db",
        str(db),
        "--start",
        at,
        "--sweeps",
        str(count),
        "--kind",
        kind,
        "--listen",
        listen,
        *targets,
        prefix=prefix,
    )
    return [json.loads(line) for line in out.splitlines()]


def test_dropped_pings_time_out_and_the_probe_goes_down_after_three(
    netns: str, tmp_path: Path
) -> None:
    """Answering: UP. iptables drops ICMP: timeouts, still UP after 2, DOWN at the 3rd."""
    db = tmp_path / "probes.db"
    before = sweeps(netns, db, "127.0.0.1", count=2)
    assert [s["results"]["t-127.0.0.1/icmp"]["ok"] for s in before] == [True, True]
    assert before[-1]["states"] == {"t-127.0.0.1/icmp": "up"}
    assert before[0]["icmp"] == "raw"

    drop_icmp(netns)
    after = sweeps(netns, db, "127.0.0.1", count=3, start=30)  # a restart: same database
    results = [s["results"]["t-127.0.0.1/icmp"] for s in after]
    assert [r["ok"] for r in results] == [False, False, False]
    assert {r["error"] for r in results} == {"timeout: no echo reply"}
    assert [s["states"]["t-127.0.0.1/icmp"] for s in after] == ["up", "up", "down"]
    transition, opened = after[2]["events"]
    assert transition["type"] == "Transition"
    assert transition["new_status"] == "down"
    assert transition["streak_started_at"] == results[0]["at"]
    assert opened["type"] == "OutageOpened"
    assert opened["started_at"] == results[0]["at"]


def test_one_lost_echo_request_in_two_does_not_fail_the_check(netns: str, tmp_path: Path) -> None:
    """Half the pings lost (every other echo request dropped): each check still answers, so
    the probe stays UP and nothing opens. One request a check failed half of them, and three in
    a row (a lost one each, then its two retries) opened an outage that closed a few checks
    later, over and over: a page every few minutes for a server that was there."""
    every_other = ("-m", "statistic", "--mode", "nth", "--every", "2", "--packet", "0")
    drop_icmp(netns, "--icmp-type", "echo-request", *every_other)
    runs = sweeps(netns, tmp_path / "probes.db", "127.0.0.1", count=8)
    results = [s["results"]["t-127.0.0.1/icmp"] for s in runs]
    assert [(r["ok"], r["error"]) for r in results] == [(True, None)] * 8
    assert runs[-1]["states"] == {"t-127.0.0.1/icmp": "up"}
    assert [e["type"] for s in runs for e in s["events"]] == ["Transition"]


def test_replies_are_matched_to_their_own_target_when_some_are_dropped(
    netns: str, tmp_path: Path
) -> None:
    """With 127.0.0.7 and .9 dropped, exactly those two fail among 20 targets on one socket."""
    drop_icmp(netns, "-d", "127.0.0.7")
    drop_icmp(netns, "-d", "127.0.0.9")
    targets = [f"127.0.0.{i}" for i in range(1, 21)]
    (sweep,) = sweeps(netns, tmp_path / "probes.db", *targets, count=1)
    failed = sorted(key for key, r in sweep["results"].items() if not r["ok"])
    assert failed == ["t-127.0.0.7/icmp", "t-127.0.0.9/icmp"]


def test_without_raw_sockets_the_unprivileged_socket_is_used(netns: str, tmp_path: Path) -> None:
    """No CAP_NET_RAW but ping_group_range allows us: the datagram ICMP socket answers."""
    if shutil.which("setpriv") is None:
        unavailable("setpriv (util-linux) is needed to drop CAP_NET_RAW")
    in_netns(netns, "sysctl", "-qw", "net.ipv4.ping_group_range=0 2147483647")
    no_raw = ("setpriv", "--bounding-set=-net_raw", "--inh-caps=-net_raw", "--")
    (sweep,) = sweeps(netns, tmp_path / "probes.db", "127.0.0.1", count=1, prefix=no_raw)
    assert sweep["icmp"] == "unprivileged"
    assert sweep["results"]["t-127.0.0.1/icmp"]["ok"]


def test_without_any_icmp_socket_every_icmp_probe_fails_as_data(netns: str, tmp_path: Path) -> None:
    """No CAP_NET_RAW and no ping group: results say `icmp unavailable`, nothing crashes."""
    if shutil.which("setpriv") is None:
        unavailable("setpriv (util-linux) is needed to drop CAP_NET_RAW")
    in_netns(netns, "sysctl", "-qw", "net.ipv4.ping_group_range=1 0")
    no_raw = ("setpriv", "--bounding-set=-net_raw", "--inh-caps=-net_raw", "--")
    (sweep,) = sweeps(netns, tmp_path / "probes.db", "127.0.0.1", count=1, prefix=no_raw)
    result = sweep["results"]["t-127.0.0.1/icmp"]
    assert sweep["icmp"] == "unavailable"
    assert not result["ok"]
    assert result["error"].startswith("icmp unavailable: ")


@pytest.mark.parametrize("raw", [True, False], ids=["raw", "unprivileged"])
def test_an_ipv6_server_is_up_while_it_answers_pings_and_down_once_they_are_dropped(
    netns: str, tmp_path: Path, raw: bool
) -> None:
    """::1 answers: UP, over the raw ICMPv6 socket or the unprivileged one. ip6tables drops
    the pings: three timeouts, DOWN. Both used to fail at once with `only IPv4 is supported`."""
    if shutil.which("ip6tables") is None:
        unavailable("ip6tables is not installed (apt-get install -y iptables)")
    prefix: tuple[str, ...] = ()
    if not raw:
        if shutil.which("setpriv") is None:
            unavailable("setpriv (util-linux) is needed to drop CAP_NET_RAW")
        in_netns(netns, "sysctl", "-qw", "net.ipv4.ping_group_range=0 2147483647")
        prefix = ("setpriv", "--bounding-set=-net_raw", "--inh-caps=-net_raw", "--")
    db = tmp_path / "probes.db"
    before = sweeps(netns, db, "::1", count=2, prefix=prefix)
    assert [s["results"]["t---1/icmp"]["error"] for s in before] == [None, None]
    assert before[-1]["states"] == {"t---1/icmp": "up"}
    in_netns(netns, "ip6tables", "-A", "INPUT", "-p", "icmpv6", "--icmpv6-type",
             "echo-request", "-j", "DROP")  # fmt: skip
    after = sweeps(netns, db, "::1", count=3, start=30, prefix=prefix)
    results = [s["results"]["t---1/icmp"] for s in after]
    assert [(r["ok"], r["error"]) for r in results] == [(False, "timeout: no echo reply")] * 3
    assert [s["states"]["t---1/icmp"] for s in after] == ["up", "up", "down"]


def test_a_host_name_whose_dns_does_not_answer_fails_within_the_probe_timeout(
    netns: str, tmp_path: Path
) -> None:
    """DNS dropped: the ICMP check fails on its own 1 s timeout, not the resolver's retries."""
    etc = Path("/etc/netns") / netns  # `ip netns exec` mounts its resolv.conf over /etc's
    etc.mkdir(parents=True)
    try:
        (etc / "resolv.conf").write_text("nameserver 127.0.0.53\n")
        for protocol in ("udp", "tcp"):
            drop = ("-A", "INPUT", "-p", protocol, "--dport", "53", "-j", "DROP")
            in_netns(netns, "iptables", *drop)
        (sweep,) = sweeps(netns, tmp_path / "probes.db", "hang.invalid", count=1)
    finally:
        shutil.rmtree(etc)
    result = sweep["results"]["t-hang.invalid/icmp"]
    assert not result["ok"]
    assert result["error"] == "cannot resolve hang.invalid: no answer in 1 s"


@pytest.mark.parametrize("kind", ["icmp", "tcp", "http"])
def test_names_whose_dns_does_not_answer_do_not_fail_a_name_that_resolves(
    netns: str, tmp_path: Path, kind: str
) -> None:
    """34 names the DNS never answers (more than the loop's default executor has threads)
    and one in /etc/hosts: only the 34 fail; the healthy server is not queued behind them."""
    etc = Path("/etc/netns") / netns  # `ip netns exec` mounts these over /etc's
    etc.mkdir(parents=True)
    hung = [f"hang-{n}.invalid" for n in range(34)]
    try:
        (etc / "resolv.conf").write_text("nameserver 127.0.0.53\noptions timeout:3 attempts:1\n")
        (etc / "hosts").write_text("127.0.0.1 localhost\n127.0.0.1 good.test\n")
        for protocol in ("udp", "tcp"):
            drop = ("-A", "INPUT", "-p", protocol, "--dport", "53", "-j", "DROP")
            in_netns(netns, "iptables", *drop)
        (sweep,) = sweeps(netns, tmp_path / "probes.db", *hung, "good.test", count=1, kind=kind)
    finally:
        shutil.rmtree(etc)
    by_server = {key.split("/")[0]: result for key, result in sweep["results"].items()}
    assert by_server["t-good.test"] == {"ok": True, "error": None, "at": T0.isoformat()}
    assert {by_server[f"t-{name}"]["error"] for name in hung} == {
        f"cannot resolve {name}: no answer in 1 s" for name in hung
    }


@pytest.mark.parametrize("kind", ["tcp", "http"])
def test_a_port_that_drops_connections_says_no_connection_was_made(
    netns: str, tmp_path: Path, kind: str
) -> None:
    """iptables drops every TCP packet: the check says it could not connect, not that the
    server did not answer (which would send the on-call looking at the web server)."""
    in_netns(netns, "iptables", "-A", "INPUT", "-p", "tcp", "-j", "DROP")
    (sweep,) = sweeps(netns, tmp_path / "probes.db", "127.0.0.1", count=1, kind=kind)
    (result,) = sweep["results"].values()
    assert (result["ok"], result["error"]) == (False, "timeout: no connection in 1 s")


@pytest.mark.parametrize("kind", ["icmp", "tcp", "http"])
def test_a_name_whose_first_address_is_dead_is_up_on_its_other_one(
    netns: str, tmp_path: Path, kind: str
) -> None:
    """two.test is 127.0.0.1, which drops every ping and connection, and 127.0.0.2, which
    answers: every kind of probe finds it up, as a visitor's browser does. HTTP (aiohttp) did,
    while TCP and ICMP waited on the first address alone and said the server was down."""
    etc = Path("/etc/netns") / netns  # `ip netns exec` mounts its hosts over /etc's
    etc.mkdir(parents=True)
    try:
        (etc / "hosts").write_text("127.0.0.1 localhost\n127.0.0.1 two.test\n127.0.0.2 two.test\n")
        in_netns(netns, "iptables", "-A", "INPUT", "-d", "127.0.0.1", "-p", "tcp", "--syn",
                 "-j", "DROP")  # fmt: skip
        drop_icmp(netns, "-d", "127.0.0.1", "--icmp-type", "echo-request")
        (sweep,) = sweeps(
            netns, tmp_path / "probes.db", "two.test", count=1, kind=kind, listen="127.0.0.2"
        )
    finally:
        shutil.rmtree(etc)
    (result,) = sweep["results"].values()
    assert (result["ok"], result["error"]) == (True, None)


def test_a_name_whose_first_address_refuses_pings_is_up_on_its_other_one(
    netns: str, tmp_path: Path
) -> None:
    """two.test is 127.0.0.1, whose firewall rejects pings (host unreachable, as a REJECT rule
    answers), and 127.0.0.2, which answers: the refusal of one address is no more the check's
    outcome than the silence of a dead one is."""
    etc = Path("/etc/netns") / netns  # `ip netns exec` mounts its hosts over /etc's
    etc.mkdir(parents=True)
    try:
        (etc / "hosts").write_text("127.0.0.1 localhost\n127.0.0.1 two.test\n127.0.0.2 two.test\n")
        in_netns(netns, "iptables", "-A", "INPUT", "-d", "127.0.0.1", "-p", "icmp",
                 "--icmp-type", "echo-request", "-j", "REJECT",
                 "--reject-with", "icmp-host-unreachable")  # fmt: skip
        (sweep,) = sweeps(netns, tmp_path / "probes.db", "two.test", count=1)
    finally:
        shutil.rmtree(etc)
    (result,) = sweep["results"].values()
    assert (result["ok"], result["error"]) == (True, None)


@pytest.mark.parametrize(
    ("target", "tables", "reject_with", "reason"),
    [
        ("127.0.0.1", "iptables", "icmp-host-unreachable", "host unreachable"),
        ("::1", "ip6tables", "icmp6-no-route", "network unreachable (no route to destination)"),
        ("::1", "ip6tables", "icmp6-addr-unreachable", "address unreachable"),
        ("::1", "ip6tables", "icmp6-adm-prohibited", "communication administratively prohibited"),
    ],
    ids=["ipv4", "ipv6-no-route", "ipv6-address-unreachable", "ipv6-prohibited"],
)
def test_a_destination_unreachable_answer_fails_the_check_with_its_reason(
    netns: str, tmp_path: Path, target: str, tables: str, reject_with: str, reason: str
) -> None:
    """The target's firewall rejects pings with a destination-unreachable: the check fails
    with what the answer says, not `timeout: no echo reply`, which sends the on-call looking
    for a dead host where a firewall refuses (and pre-fills a ticket of the wrong kind). Over
    IPv6 the answer was not read."""
    if shutil.which(tables) is None:
        unavailable(f"{tables} is not installed (apt-get install -y iptables)")
    protocol, request = ("icmp", "echo-request") if tables == "iptables" else ("icmpv6", "128")
    in_netns(netns, tables, "-A", "INPUT", "-p", protocol, f"--{protocol}-type", request,
             "-j", "REJECT", "--reject-with", reject_with)  # fmt: skip
    (sweep,) = sweeps(netns, tmp_path / "probes.db", target, count=1)
    (result,) = sweep["results"].values()
    assert (result["ok"], result["error"]) == (False, reason)
