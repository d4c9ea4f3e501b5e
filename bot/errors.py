"""Errors that reach users: a message key and its values, rendered in the user's language."""


class UserFacingError(Exception):
    """Raised by parsers and services; one boundary renders it as an ephemeral reply."""

    def __init__(self, key: str, /, **values: object) -> None:
        super().__init__(key)
        self.key = key
        self.values = values
