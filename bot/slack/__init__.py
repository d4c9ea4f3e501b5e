"""Slack-facing code: Web API transport, Block Kit builders, ids shared with manifest.yml."""
