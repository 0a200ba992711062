"""Logging into the host's log, tagged with the model's name."""

from wit_world.imports import log as host


def debug(message: str) -> None:
    """Logs at debug level."""
    host.log(host.Level.DEBUG, message)


def info(message: str) -> None:
    """Logs at info level."""
    host.log(host.Level.INFO, message)


def warn(message: str) -> None:
    """Logs at warn level."""
    host.log(host.Level.WARN, message)


def error(message: str) -> None:
    """Logs at error level."""
    host.log(host.Level.ERROR, message)
