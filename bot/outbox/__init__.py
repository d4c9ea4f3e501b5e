"""Durable, ordered, rate-limited delivery of every message the bot decides to send."""
