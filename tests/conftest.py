"""Shared fixtures come from plugins under tests/plugins/, one per real component."""

pytest_plugins: list[str] = ["tests.plugins.db", "tests.plugins.slack", "tests.plugins.bot"]
