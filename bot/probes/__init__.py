"""Probes: ICMP, TCP and HTTP checks returning ProbeResult, the sweep engine, up/down state.

result.py (ProbeResult, probe_key) -> icmp.py, tcp.py, http.py (checkers) -> state.py (pure
streaks, transitions, outages) -> rollup.py (hourly rollups) -> engine.py (ProbeEngine).
"""
