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


class View(enum.StrEnum):
    """`callback_id`s of modals."""

    UPDATE = "ticket_update_modal"


UPDATE_BLOCK = "update_text"
UPDATE_INPUT = "text"
