"""Log formats: plain lines with key=value fields, JSON objects, and the request log's fields."""

from __future__ import annotations

import io
import json
import logging
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from citizenry.logs import JsonFormatter, PlainFormatter, logging_config
from citizenry.requestlog import logger as request_logger
from citizenry.settings import Settings, SettingsError
from tests.factory import Factory


def _record(message: str, *args: object, extra: dict[str, Any] | None = None) -> logging.LogRecord:
    record = logging.getLogger("citizenry.example").makeRecord(
        "citizenry.example", logging.INFO, __file__, 1, message, args, None, extra=extra
    )
    return record


@pytest.fixture
def request_log() -> Iterator[tuple[io.StringIO, logging.Handler]]:
    """Capture the request log, yielding the text buffer and its handler, whose formatter a test sets."""
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    previous_level = request_logger.level
    request_logger.addHandler(handler)
    request_logger.setLevel(logging.INFO)
    try:
        yield buffer, handler
    finally:
        request_logger.removeHandler(handler)
        request_logger.setLevel(previous_level)


def test_json_line_fields() -> None:
    record = _record("imported %d people", 12, extra={"nation": "demo", "rows": 12})

    entry = json.loads(JsonFormatter().format(record))

    assert set(entry) == {"time", "level", "logger", "message", "nation", "rows"}
    assert entry["level"] == "INFO"
    assert entry["logger"] == "citizenry.example"
    assert entry["message"] == "imported 12 people"
    assert entry["nation"] == "demo"
    assert entry["rows"] == 12
    assert entry["time"].endswith("Z")
    parsed = datetime.fromisoformat(entry["time"])
    assert parsed.utcoffset() is not None
    assert parsed.utcoffset().total_seconds() == 0  # type: ignore[union-attr]
    assert abs(parsed.timestamp() - record.created) < 0.001


def test_json_line_keeps_colliding_field() -> None:
    record = _record("message", extra={"level": "custom"})

    entry = json.loads(JsonFormatter().format(record))

    assert entry["level"] == "INFO"
    assert entry["extra_level"] == "custom"


def test_json_line_with_exception() -> None:
    try:
        raise ValueError("broken")
    except ValueError:
        record = logging.getLogger("citizenry.example").makeRecord(
            "citizenry.example", logging.ERROR, __file__, 1, "failed", (), sys.exc_info()
        )

    entry = json.loads(JsonFormatter().format(record))

    assert "\n" not in JsonFormatter().format(record)
    assert entry["message"] == "failed"
    assert "ValueError: broken" in entry["exception"]


def test_plain_line_without_fields() -> None:
    line = PlainFormatter().format(_record("citizenry %s started", "0.1.0"))

    assert line.endswith(" INFO citizenry.example citizenry 0.1.0 started")


def test_plain_line_fields_quoted() -> None:
    record = _record("request", extra={"path": "/a b\nINFO forged", "status": 404, "slow": False})

    line = PlainFormatter().format(record)

    assert "\n" not in line
    assert line.endswith(' request path="/a b\\nINFO forged" status=404 slow=false')


def test_request_log_json(
    client: TestClient, factory: Factory, request_log: tuple[io.StringIO, logging.Handler]
) -> None:
    buffer, handler = request_log
    handler.setFormatter(JsonFormatter())
    nation = factory.nation()
    token = factory.test_token(nation, factory.user(nation))

    response = client.get(f"{nation.prefix}/api/v1/people", params={"access_token": token})

    assert response.status_code == 200
    lines = buffer.getvalue().splitlines()
    assert len(lines) == 1
    entry = json.loads(lines[0])
    assert entry["logger"] == "citizenry.requests"
    assert entry["message"] == "request"
    assert entry["method"] == "GET"
    assert entry["path"] == f"{nation.prefix}/api/v1/people"
    assert entry["route"] == "/api/v1/people"
    assert entry["status"] == 200
    assert isinstance(entry["duration_ms"], float)
    assert entry["duration_ms"] >= 0
    assert entry["nation"] == nation.slug
    assert token not in buffer.getvalue()


def test_request_log_plain(
    client: TestClient, factory: Factory, request_log: tuple[io.StringIO, logging.Handler]
) -> None:
    buffer, handler = request_log
    handler.setFormatter(PlainFormatter())
    nation = factory.nation()

    client.get("/api/v1/people?access_token=not-logged", headers={"Host": f"{nation.slug}.localhost"})

    line = buffer.getvalue().strip()
    assert " INFO citizenry.requests request method=GET path=/api/v1/people route=/api/v1/people " in line
    assert " status=401 duration_ms=" in line
    assert line.endswith(f" nation={nation.slug}")
    assert "not-logged" not in line


def test_request_log_unmatched(client: TestClient, request_log: tuple[io.StringIO, logging.Handler]) -> None:
    buffer, handler = request_log
    handler.setFormatter(JsonFormatter())

    client.get("/no/such/page", headers={"Host": "bad_label!.localhost"})

    entry = json.loads(buffer.getvalue())
    assert entry["route"] == "unmatched"
    assert entry["status"] == 404
    # A host label that is no valid slug names no nation.
    assert "nation" not in entry


def test_configured_json_logging() -> None:
    """Configure JSON logging in a fresh interpreter, and read what it writes to standard error."""
    program = (
        "import logging; from citizenry.logs import configure_logging; "
        "configure_logging('INFO', 'json'); "
        "logging.getLogger('citizenry.example').info('hello', extra={'nation': 'demo'}); "
        "logging.getLogger('uvicorn.error').info('server line'); "
        "logging.getLogger('_granian').info('granian line'); "
        "logging.getLogger('alembic').info('hidden below WARNING'); "
        "logging.getLogger('citizenry.example').debug('hidden below INFO')"
    )
    result = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, check=True, timeout=60
    )

    entries = [json.loads(line) for line in result.stderr.splitlines()]
    assert [(entry["logger"], entry["message"]) for entry in entries] == [
        ("citizenry.example", "hello"),
        ("uvicorn.error", "server line"),
        ("_granian", "granian line"),
    ]
    assert entries[0]["nation"] == "demo"


def test_unknown_log_format() -> None:
    with pytest.raises(ValueError, match="xml"):
        logging_config("INFO", "xml")


@pytest.mark.parametrize(("value", "expected"), [(None, "plain"), ("json", "json"), (" JSON ", "json")])
def test_log_format_setting(tmp_path: Path, value: str | None, expected: str) -> None:
    env = {"CITIZENRY_DATA_DIR": str(tmp_path)}
    if value is not None:
        env["CITIZENRY_LOG_FORMAT"] = value

    assert Settings.from_env(env).log_format == expected


def test_log_format_setting_invalid(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="CITIZENRY_LOG_FORMAT='xml' must be plain or json"):
        Settings.from_env({"CITIZENRY_DATA_DIR": str(tmp_path), "CITIZENRY_LOG_FORMAT": "xml"})
