"""Shared fixtures come from plugins under tests/plugins/: one per real component, and the
revision rule that every test checks (tests/plugins/revisions.py)."""

from collections import Counter

import pytest

pytest_plugins: list[str] = [
    "tests.plugins.db",
    "tests.plugins.slack",
    "tests.plugins.bot",
    "tests.plugins.revisions",
]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The files of tests marked `long` first, then the files with the most tests, as the
    workers take them (`--no-loadscope-reorder`: xdist keeps this order): a test of minutes
    started last would run alone at the end of the suite."""
    sizes = Counter(_file(item) for item in items)
    long = {_file(item) for item in items if item.get_closest_marker("long") is not None}
    items.sort(key=lambda item: (_file(item) not in long, -sizes[_file(item)]))


def _file(item: pytest.Item) -> str:
    return item.nodeid.split("::", 1)[0]
