"""Ids of actions, views and commands, shared by the block builders, listeners and manifest."""

import enum


class Command(enum.StrEnum):
    INTERVENTION = "/intervention"
    SLA = "/sla"


class Action(enum.StrEnum):
    """`action_id`s of buttons; every one must have a listener (tests/test_manifest.py)."""

    CLAIM = "ticket_claim"
    POST_UPDATE = "ticket_post_update"
    RESOLVE = "ticket_resolve"
    RESOLVE_ANYWAY = "ticket_resolve_anyway"
    OPEN_INTERVENTION = "alert_open_intervention"
    ACKNOWLEDGE = "alert_acknowledge"
    ACKNOWLEDGE_STORM = "alert_acknowledge_storm"
    SILENCE_1H = "alert_silence_1h"


class View(enum.StrEnum):
    """`callback_id`s of modals."""

    UPDATE = "ticket_update_modal"
    OPEN_INTERVENTION = "alert_open_intervention_modal"


UPDATE_BLOCK = "update_text"
UPDATE_INPUT = "text"

# Blocks and inputs of the Open intervention modal (bot/slack/alerts_render.py).
OPEN_SERVER_BLOCK = "open_server"
OPEN_KIND_BLOCK = "open_kind"
OPEN_AT_BLOCK = "open_at"
OPEN_DESCRIPTION_BLOCK = "open_description"
OPEN_INPUT = "value"
