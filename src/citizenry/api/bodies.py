"""Reading JSON request bodies: content type, size, syntax and the root key."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request

from citizenry.api.errors import BadRequest, MissingParameters, UnsupportedMediaType

#: The largest request body accepted, in bytes.
MAX_BODY_BYTES = 1024 * 1024


def _reject_constants(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


async def read_json_object(request: Request) -> dict[str, Any]:
    """Return the request's JSON object body; {} for an empty body.

    A body sent with another content type is refused rather than ignored.
    """
    raw = await request.body()
    if len(raw) > MAX_BODY_BYTES:
        raise BadRequest(f"The request body is larger than {MAX_BODY_BYTES} bytes.")
    if not raw.strip():
        return {}
    media_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media_type != "application/json":
        raise UnsupportedMediaType()
    try:
        document = json.loads(raw.decode("utf-8"), parse_constant=_reject_constants)
    except (UnicodeDecodeError, ValueError):
        raise BadRequest("The request body is not valid JSON in UTF-8.") from None
    if not isinstance(document, dict):
        raise BadRequest("The request body must be a JSON object.")
    return document


async def read_root(request: Request, root: str) -> dict[str, Any]:
    """Return the object under ``root`` in ``{"root": {...}}``, or raise ``missing_parameters``."""
    document = await read_json_object(request)
    value = document.get(root)
    if value is None:
        raise MissingParameters(root)
    if not isinstance(value, dict):
        raise BadRequest(f"'{root}' must be a JSON object.")
    return value
