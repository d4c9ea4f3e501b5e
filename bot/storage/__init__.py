"""Persistence: models, the UTC datetime type, repositories and migrations."""
