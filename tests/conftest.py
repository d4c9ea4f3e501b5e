"""Shared fixtures come from plugins under tests/plugins/: one per real component, and the
revision rule that every test checks (tests/plugins/revisions.py)."""

pytest_plugins: list[str] = [
    "tests.plugins.db",
    "tests.plugins.slack",
    "tests.plugins.bot",
    "tests.plugins.revisions",
]
