"""Read Settings for a CLI command, turning bad environment values into a clean message."""

import sys

from pydantic import ValidationError

from bot.config import Settings
from bot.config.settings import dotenv_names, dotenv_problems, unknown_settings


def read_settings() -> Settings | None:
    """Settings from the environment, or None after printing what is wrong (values never shown,
    since some are secrets)."""
    # A `.env` not read whole is said first, and alone: what the rest would say is unreliable.
    problems = dotenv_problems()
    settings = None
    if not problems:
        problems = [
            f"{name}: not a setting" + (f" ({meant}?)" if meant else "")
            for name, meant in unknown_settings(dotenv_names()).items()
        ]
        try:
            settings = Settings()
        except ValidationError as error:
            for detail in error.errors():
                name = ".".join(str(part) for part in detail["loc"]).upper()
                problems.append(f"{name}: {detail['msg']}")
    if problems or settings is None:
        print("invalid settings:", file=sys.stderr)
        for problem in problems:
            print(f"  {problem}", file=sys.stderr)
        return None
    return settings
