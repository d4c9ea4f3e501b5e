"""The local mode's Slack across restarts: the workspace saved to a file and read back."""

import asyncio
import logging
from pathlib import Path

import pytest

from bot.sandbox import local_state
from bot.sandbox.workspace import Workspace
from bot.storage.database import make_engine

ALERTS, TECH = "C01ALERTS", "U01TECH"


def workspace() -> Workspace:
    ws = Workspace(bot_token="xoxb-test", rate_limit=False)
    ws.add_channel(ALERTS, name="alerts")
    ws.add_user(TECH, "alice")
    return ws


def call(ws: Workspace, method: str, **params: object) -> dict[str, object]:
    result = ws.call(method, dict(params), "xoxb-test")
    assert result.body["ok"], result.body
    return dict(result.body)


def test_a_saved_workspace_comes_back_whole(tmp_path: Path) -> None:
    """Roots, thread replies, edits and DMs: a restarted bot edits and answers them again."""
    before = workspace()
    root = call(before, "chat.postMessage", channel=ALERTS, text="INT-1 root")
    call(before, "chat.postMessage", channel=ALERTS, text="claimed", thread_ts=root["ts"])
    call(before, "chat.update", channel=ALERTS, ts=root["ts"], text="INT-1 root, claimed")
    dm = call(before, "chat.postMessage", channel=TECH, text="GTI at 50%")
    path = tmp_path / "slack.json"
    before.save(path)

    after = Workspace(bot_token="xoxb-test", rate_limit=False)
    assert after.load(path) == 3
    assert after.messages(ALERTS) == before.messages(ALERTS)
    assert after.dms(TECH) == before.dms(TECH)
    assert [e.text for e in after.message(ALERTS, str(root["ts"])).edits] == ["INT-1 root"]
    # What a restarted bot does next: edit the root, reply in its thread, post anew.
    call(after, "chat.update", channel=ALERTS, ts=root["ts"], text="INT-1 root, resolved")
    reply = call(after, "chat.postMessage", channel=ALERTS, text="resolved", thread_ts=root["ts"])
    assert str(reply["ts"]) > str(dm["ts"])  # ts keep increasing across the restart
    assert len(after.thread(ALERTS, str(root["ts"]))) == 3


def test_the_mark_moves_with_posts_and_edits() -> None:
    ws = workspace()
    marks = [ws.state_mark()]
    root = call(ws, "chat.postMessage", channel=ALERTS, text="one")
    marks.append(ws.state_mark())
    call(ws, "chat.update", channel=ALERTS, ts=root["ts"], text="one, edited")
    marks.append(ws.state_mark())
    assert len(set(marks)) == 3


@pytest.mark.parametrize("content", ["not json", '{"version": 99}', '{"version": 1}'])
def test_an_unreadable_file_is_set_aside_and_the_workspace_starts_empty(
    tmp_path: Path, content: str, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "slack.json"
    path.write_text(content)
    ws = Workspace(rate_limit=False)
    with caplog.at_level(logging.WARNING, logger="bot.sandbox.local_state"):
        local_state.restore(ws, path)
    assert not path.exists()
    assert (tmp_path / "slack.json.unreadable").read_text() == content
    assert "could not be read" in caplog.text
    assert ws.state_mark() == (0, 0, 0)


def test_it_is_kept_beside_a_sqlite_file_only(tmp_path: Path) -> None:
    assert local_state.state_file(make_engine(f"sqlite:///{tmp_path}/bot.db")) == Path(
        f"{tmp_path}/bot.db-slack.json"
    )
    assert local_state.state_file(make_engine("sqlite://")) is None
    postgres = make_engine("postgresql://postgres@127.0.0.1:5432/test")
    assert local_state.state_file(postgres) is None


def test_keep_saved_saves_changes_and_once_more_at_the_end(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(local_state, "SAVE_EVERY", 0.01)
    path = tmp_path / "slack.json"
    ws = workspace()

    async def scenario() -> None:
        done = asyncio.Event()
        saving = asyncio.create_task(local_state.keep_saved(ws, path, done))
        await asyncio.sleep(0)  # the saver notes what there is (restored: nothing to save)
        call(ws, "chat.postMessage", channel=ALERTS, text="first")

        async def saved() -> None:
            while not path.exists():  # noqa: ASYNC110 (nothing to wait on: the file appears)
                await asyncio.sleep(0.01)

        await asyncio.wait_for(saved(), 10)
        call(ws, "chat.postMessage", channel=ALERTS, text="last, as the bot stops")
        done.set()
        await saving

    asyncio.run(scenario())
    restored = Workspace(rate_limit=False)
    restored.load(path)
    assert [m.text for m in restored.messages(ALERTS)] == ["first", "last, as the bot stops"]
