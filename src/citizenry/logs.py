"""Logging set-up for the server and the CLI: plain text or one JSON object per line.

Both formats show the fields a caller passes in ``extra``: the plain format appends them to the
message as ``key=value``, and the JSON format adds them as keys of the object.
"""

from __future__ import annotations

import json
import logging
import logging.config
import re
from datetime import UTC, datetime
from typing import Any

#: Values of ``CITIZENRY_LOG_FORMAT``.
LOG_FORMATS = ("plain", "json")

PLAIN_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"

#: Attributes of every LogRecord. Any other attribute came from ``extra``. ``color_message`` is
#: uvicorn's coloured copy of the message, and ``taskName`` is a record attribute from Python 3.12.
_RECORD_ATTRIBUTES = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {
    "message",
    "asctime",
    "taskName",
    "color_message",
}

#: A value that needs no quotes in ``key=value``: no spaces, control characters, quotes or "=".
_BARE_VALUE = re.compile(r'^[^\s"=\\\x00-\x1f\x7f]+$')

#: The servers' loggers. They get no handler of their own, so their records reach the root
#: logger's handler and come out in the same format as Citizenry's.
SERVER_LOGGERS = ("_granian", "granian.access", "uvicorn", "uvicorn.error", "uvicorn.access")


def extra_fields(record: logging.LogRecord) -> dict[str, Any]:
    """Return the fields passed to the logging call in ``extra``, in the order given."""
    return {
        name: value
        for name, value in vars(record).items()
        if name not in _RECORD_ATTRIBUTES and not name.startswith("_")
    }


def logfmt_value(value: Any) -> str:
    """Render one value for ``key=value``: bare when safe, else as a JSON string.

    Quoting escapes line breaks, so a request path cannot start a forged log line.
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    text = str(value)
    return text if _BARE_VALUE.match(text) else json.dumps(text, ensure_ascii=False)


class PlainFormatter(logging.Formatter):
    """``time level logger message``, followed by the record's extra fields as ``key=value``."""

    def __init__(self) -> None:
        super().__init__(PLAIN_FORMAT)

    def formatMessage(self, record: logging.LogRecord) -> str:
        line = super().formatMessage(record)
        fields = extra_fields(record)
        if not fields:
            return line
        return line + " " + " ".join(f"{name}={logfmt_value(value)}" for name, value in fields.items())


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time (ISO 8601, UTC), level, logger, message and the extra fields.

    An extra field named like one of the first four keys is written as ``extra_<name>``. A record
    with an exception adds ``exception``, the formatted traceback.
    """

    def format(self, record: logging.LogRecord) -> str:
        created = datetime.fromtimestamp(record.created, tz=UTC)
        entry: dict[str, Any] = {
            "time": created.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name, value in extra_fields(record).items():
            entry[f"extra_{name}" if name in entry else name] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def logging_config(level: str, log_format: str = "plain") -> dict[str, Any]:
    """Build the :func:`logging.config.dictConfig` configuration for ``level`` and ``log_format``.

    ``citizenry serve`` also hands it to granian and uvicorn, which apply it in every worker.
    """
    if log_format not in LOG_FORMATS:
        raise ValueError(f"invalid log format {log_format!r}, expected plain or json")
    formatter = JsonFormatter if log_format == "json" else PlainFormatter
    loggers: dict[str, dict[str, Any]] = {
        name: {"handlers": [], "propagate": True} for name in SERVER_LOGGERS
    }
    if level == "DEBUG":
        # Authlib's debug lines include whole token responses.
        loggers["authlib"] = {"level": "INFO"}
    else:
        # Alembic reports every migration step at INFO; the CLI prints its own summary.
        loggers["alembic"] = {"level": "WARNING"}
    return {
        "version": 1,
        # False keeps the loggers that modules created at import time working.
        "disable_existing_loggers": False,
        "formatters": {"citizenry": {"()": f"{formatter.__module__}.{formatter.__qualname__}"}},
        "handlers": {
            "citizenry": {
                "class": "logging.StreamHandler",
                "formatter": "citizenry",
                "stream": "ext://sys.stderr",
            }
        },
        "root": {"level": level, "handlers": ["citizenry"]},
        "loggers": loggers,
    }


def configure_logging(level: str, log_format: str = "plain") -> None:
    """Send every log record to standard error, in ``log_format``, at ``level`` and above."""
    logging.config.dictConfig(logging_config(level, log_format))
    quiet_authlib()


def quiet_authlib() -> None:
    """Keep Authlib below DEBUG: its debug lines include whole token responses."""
    authlib = logging.getLogger("authlib")
    if authlib.getEffectiveLevel() < logging.INFO:
        authlib.setLevel(logging.INFO)
