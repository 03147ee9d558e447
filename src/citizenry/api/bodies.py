"""Reading JSON request bodies: size, content type, syntax and the root key.

The bytes are read in the async handler, with a size limit. Parsing happens after the caller is
authenticated, so a request without a valid token gets 401 whatever its body.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request

from citizenry.api.errors import BadRequest, MissingParameters, UnsupportedMediaType

#: The largest request body accepted, in bytes.
MAX_BODY_BYTES = 1024 * 1024


@dataclass(frozen=True)
class RawBody:
    content: bytes
    media_type: str


def _reject_constants(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


async def read_body(request: Request) -> RawBody:
    """Read the body, stopping as soon as it passes :data:`MAX_BODY_BYTES`."""
    too_large = BadRequest(f"The request body is larger than {MAX_BODY_BYTES} bytes.")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise too_large
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise too_large
        chunks.append(chunk)
    media_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    return RawBody(content=b"".join(chunks), media_type=media_type)


def parse_object(body: RawBody) -> dict[str, Any]:
    """Return the JSON object in ``body``; {} for an empty body.

    A body sent with another content type is refused rather than ignored, and so is text that
    cannot be stored as UTF-8 (unpaired surrogate escapes).
    """
    if not body.content.strip():
        return {}
    if body.media_type != "application/json":
        raise UnsupportedMediaType()
    try:
        document = json.loads(body.content.decode("utf-8"), parse_constant=_reject_constants)
        json.dumps(document, ensure_ascii=False).encode("utf-8")
    except (UnicodeError, ValueError, RecursionError):
        raise BadRequest("The request body is not valid JSON in UTF-8.") from None
    if not isinstance(document, dict):
        raise BadRequest("The request body must be a JSON object.")
    return document


def parse_root(body: RawBody, root: str) -> dict[str, Any]:
    """Return the object under ``root`` in ``{"root": {...}}``, or raise ``missing_parameters``."""
    value = parse_object(body).get(root)
    if value is None:
        raise MissingParameters(root)
    if not isinstance(value, dict):
        raise BadRequest(f"'{root}' must be a JSON object.")
    return value


#: The largest id the 64-bit id columns hold.
MAX_ID = 2**63 - 1


def is_id(value: object) -> bool:
    """Tell whether a JSON value can be a row id: a whole number from 1 to :data:`MAX_ID`."""
    return isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_ID
