"""The API's errors, one class per ``code`` value, rendered as NationBuilder's flat JSON body."""

from __future__ import annotations

from typing import Any, ClassVar


class ApiError(Exception):
    """An error rendered as ``{"code": ..., "message": ..., **extra}``."""

    status: ClassVar[int] = 400
    code: ClassVar[str] = "bad_request"
    default_message: ClassVar[str] = "The request is invalid."

    def __init__(self, message: str | None = None, *, headers: dict[str, str] | None = None, **extra: Any):
        self.message = message or self.default_message
        self.headers = headers or {}
        self.extra = extra
        super().__init__(self.message)

    def body(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, **self.extra}


class BadRequest(ApiError):
    status = 400
    code = "bad_request"


class Unauthorized(ApiError):
    status = 401
    code = "unauthorized"
    default_message = (
        "You are not authorized to access this content. The access token is missing, invalid, "
        "expired or revoked, or its owner lacks the permission level this request needs."
    )


class InsufficientScope(ApiError):
    """A valid token whose owner lacks the permission, in the strict profile (403)."""

    status = 403
    code = "insufficient_scope"
    default_message = "The token's owner lacks the permission level this request needs."


class NotFound(ApiError):
    status = 404
    code = "not_found"
    default_message = "Record not found"


class NotAcceptable(ApiError):
    status = 406
    code = "not_acceptable"
    default_message = (
        "This API answers only in JSON. Send 'Accept: application/json' and 'Content-Type: application/json'."
    )


class MissingParameters(ApiError):
    """A required parameter or body root key is missing, in NationBuilder's shape."""

    status = 400
    code = "missing_parameters"
    default_message = "Missing Parameters."

    def __init__(self, *names: str) -> None:
        listed = ", ".join(names)
        super().__init__(
            parameters=list(names),
            inner_error={"name": "Api::Error::MissingParameters", "message": f"Missing parameters: {listed}"},
        )


class ValidationFailed(ApiError):
    """The request is well formed but its values are not acceptable."""

    status = 400
    code = "validation_failed"
    default_message = "Validation Failed."

    def __init__(self, errors: list[str]) -> None:
        super().__init__(validation_errors=errors)


class UnsupportedMediaType(ApiError):
    status = 415
    code = "unsupported_media_type"
    default_message = "Send request bodies as JSON with 'Content-Type: application/json'."


class MultipleMatches(ApiError):
    status = 400
    code = "multiple_matches"
    default_message = "Several people match the given criteria; narrow them down to one."
