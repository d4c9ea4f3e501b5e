"""Configuration: process settings from the environment and the TOML catalog."""

from bot.config.catalog import (
    CalendarSpec,
    Catalog,
    CatalogError,
    ClientSpec,
    HttpProbe,
    IcmpProbe,
    LevelSpec,
    Policy,
    ProbeSpec,
    Problem,
    ServerSpec,
    TcpProbe,
    Team,
    load_catalog,
    parse_catalog,
)
from bot.config.durations import format_duration, parse_duration
from bot.config.settings import Settings

__all__ = [
    "CalendarSpec",
    "Catalog",
    "CatalogError",
    "ClientSpec",
    "HttpProbe",
    "IcmpProbe",
    "LevelSpec",
    "Policy",
    "ProbeSpec",
    "Problem",
    "ServerSpec",
    "Settings",
    "TcpProbe",
    "Team",
    "format_duration",
    "load_catalog",
    "parse_catalog",
    "parse_duration",
]
