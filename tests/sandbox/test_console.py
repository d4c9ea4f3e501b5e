"""The local mode's console shows the bot's text as Slack would show it."""

import pytest

from bot.sandbox.console import as_shown


@pytest.mark.parametrize(
    ("sent", "shown"),
    [
        ("`claim &lt;ticket&gt;`: take it", "`claim <ticket>`: take it"),
        ("R&amp;D &lt;3", "R&D <3"),
        ("&amp;lt; typed by a user", "&lt; typed by a user"),  # one level of escaping only
        ("<@U01AAA> claimed INT-1", "<@U01AAA> claimed INT-1"),  # mentions are left as sent
    ],
)
def test_slack_escapes_are_shown_as_the_characters_they_stand_for(sent: str, shown: str) -> None:
    """The console printed `/intervention help` with `&lt;ticket&gt;` where Slack shows
    `<ticket>`."""
    assert as_shown(sent) == shown
