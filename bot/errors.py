"""Errors that reach users: a message key and its values, rendered in the user's language; and
the operator's, said by `supportbot run` on stderr."""

import errno
import socket


class UserFacingError(Exception):
    """Raised by parsers and services; one boundary renders it as an ephemeral reply."""

    def __init__(self, key: str, /, **values: object) -> None:
        super().__init__(key)
        self.key = key
        self.values = values


class ListenError(Exception):
    """The HTTP server cannot listen where the settings say: the port is taken, say."""

    @classmethod
    def of(cls, host: str, port: int, error: OSError) -> "ListenError":
        """Say why binding `host:port` failed, and which settings choose them."""
        if error.errno == errno.EADDRINUSE:
            reason = "another program listens on that port"
        elif error.errno == errno.EACCES:
            reason = "this user may not listen on that port"
        elif isinstance(error, socket.gaierror):
            reason = f"unknown host ({error.strerror})"
        else:
            reason = error.strerror or str(error)
        return cls(
            f"cannot listen on {host}:{port}: {reason} (set SUPPORTBOT_PORT or SUPPORTBOT_HOST)"
        )


class SlackRefusedError(Exception):
    """Slack refused a credential the bot starts with: a mistyped or revoked token, say."""

    @classmethod
    def app_token(cls, error: str) -> "SlackRefusedError":
        """apps.connections.open answered `error`, which no retry changes."""
        return cls(
            f"Slack refused SLACK_APP_TOKEN ({error}): Socket Mode needs the app-level token "
            "(xapp-…) with the connections:write scope, from the app's Basic Information page"
        )
