"""Rate limits and injected faults answer like Slack, and every 429 is on record."""

from __future__ import annotations

import time

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.sandbox import EmulatorThread, SlackEmulator
from bot.sandbox.faults import ChannelRateLimiter

ALERTS = "C01ALERTS"
OTHER = "C02OTHER"


@pytest.fixture
def client(slack: EmulatorThread, slack_client: WebClient) -> WebClient:
    slack.add_channel(ALERTS, name="alerts")
    slack.add_channel(OTHER, name="other")
    return slack_client


def post(client: WebClient, channel: str) -> int:
    """HTTP status of one post; a 429 must carry Slack's body and a Retry-After."""
    try:
        client.chat_postMessage(channel=channel, text="flood")
    except SlackApiError as exc:
        refused = (exc.response["error"], int(exc.response.headers["Retry-After"]) >= 1)
        status = int(exc.response.status_code)
    else:
        return 200
    assert refused == ("ratelimited", True)
    return status


def test_flooding_a_channel_gets_429_after_the_burst(
    slack: EmulatorThread, client: WebClient
) -> None:
    statuses = [post(client, ALERTS) for _ in range(6)]
    assert statuses[:3] == [200, 200, 200]
    assert set(statuses[3:]) == {429}
    assert post(client, OTHER) == 200  # the bucket is per channel
    limited = [c for c in slack.calls_to("chat.postMessage") if c.status == 429]
    assert all(c.channel == ALERTS and c.retry_after == 1 for c in limited)
    assert len(slack.messages(ALERTS)) == 3


def test_no_429_with_rate_limiting_off(slack: EmulatorThread, client: WebClient) -> None:
    slack.rate_limit = False
    assert {post(client, ALERTS) for _ in range(20)} == {200}


def test_the_bucket_refills_after_retry_after() -> None:
    limiter = ChannelRateLimiter(per_second=1.0, burst=2)
    assert limiter.acquire("C", 0.0) is None
    assert limiter.acquire("C", 0.0) is None
    retry_after = limiter.acquire("C", 0.1)
    assert retry_after == 1
    assert limiter.acquire("C", 0.1 + retry_after) is None


def test_injected_429s_are_a_seeded_fraction_and_early_retries_are_detected(
    slack: EmulatorThread, client: WebClient
) -> None:
    slack.rate_limit = False
    slack.inject_429(ratio=0.5, retry_after=(2, 4), seed=7)
    statuses = [post(client, ALERTS) for _ in range(20)]
    assert 3 <= statuses.count(429) <= 17
    limited = [c for c in slack.calls if c.status == 429]
    assert all(2 <= (c.retry_after or 0) <= 4 and c.channel == ALERTS for c in limited)
    # This client ignored Retry-After: every call after the first 429 came too early.
    first = statuses.index(429)
    assert len(slack.early_retries()) == len(statuses) - first - 1


def test_injected_error_and_http_status_run_out(slack: EmulatorThread, client: WebClient) -> None:
    slack.inject_error("chat.update", "cant_update_message", times=1)
    slack.inject_http_status(503, times=2, methods="chat.postMessage")
    for _ in range(2):
        with pytest.raises(SlackApiError) as raised:
            client.chat_postMessage(channel=ALERTS, text="x")
        assert raised.value.response.status_code == 503
    ts = client.chat_postMessage(channel=ALERTS, text="x")["ts"]
    with pytest.raises(SlackApiError) as refused:
        client.chat_update(channel=ALERTS, ts=ts, text="y")
    assert refused.value.response["error"] == "cant_update_message"
    client.chat_update(channel=ALERTS, ts=ts, text="y")
    assert slack.message(ALERTS, ts).text == "y"


def test_a_response_url_takes_five_posts_then_expires() -> None:
    """Slack accepts five posts to a response_url within 30 minutes of the interaction (here
    a second): a sixth is answered 404 `used_url`, one after that time 404 `expired_url`."""
    with EmulatorThread(SlackEmulator(response_url_ttl_s=1.0)) as slack:
        slack.add_user("U1")
        slack.add_channel("C1")
        body = {"text": "done"}
        used = slack.issue_response_url("slash_command", user_id="U1", channel="C1")
        late = slack.issue_response_url("slash_command", user_id="U1", channel="C1")
        answers = [slack.post_response(used.rsplit("/", 1)[1], body) for _ in range(6)]
        assert answers == [(200, "ok")] * 5 + [(404, "used_url")]
        time.sleep(1.1)
        assert slack.post_response(late.rsplit("/", 1)[1], body) == (404, "expired_url")
