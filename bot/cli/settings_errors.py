"""Read Settings for a CLI command, turning bad environment values into a clean message."""

import sys

from pydantic import ValidationError

from bot.config import Settings


def read_settings() -> Settings | None:
    """Settings from the environment, or None after printing what is wrong (values never shown,
    since some are secrets)."""
    try:
        return Settings()
    except ValidationError as error:
        print("invalid settings:", file=sys.stderr)
        for problem in error.errors():
            name = ".".join(str(part) for part in problem["loc"]).upper()
            print(f"  {name}: {problem['msg']}", file=sys.stderr)
        return None
