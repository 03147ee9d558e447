"""The client's exceptions: one class per error a server sends, and a few raised locally.

```
CitizenryError
├── TransportError                  the request failed before a response arrived
│   └── RequestTimeout
├── NotAuthenticated                no access token to send
├── TokenStoreError                 a token store could not load, save or delete
├── InvalidCallback                 the authorization callback does not belong to this request
├── AuthorizationDenied             the callback carries an OAuth ``error``, such as access_denied
├── UnexpectedResponse              a success response the client cannot read
└── ResponseError                   an error response; attributes status_code, code, message, body
    ├── RateLimited                 429 from the API or an OAuth endpoint; has retry_after
    ├── ApiError                    the API's ``{"code", "message", ...}`` bodies, by ``code``
    └── OAuthError                  the OAuth endpoints' ``{"error", "error_description"}``, by ``error``
```

No message built here contains a token, code, secret or query string: only the method, the path,
the status and what the server wrote in ``message`` or ``error_description``.
"""

from __future__ import annotations

import email.utils
import time
from typing import Any, ClassVar

import httpx2


class CitizenryError(Exception):
    """The base class of every error the client raises."""


class TransportError(CitizenryError):
    """The request failed before a response arrived: the connection was refused, reset, ..."""


class RequestTimeout(TransportError):
    """The server did not respond within the client's timeout."""


class NotAuthenticated(CitizenryError):
    """The token store contains no access token."""


class TokenStoreError(CitizenryError):
    """A token store could not load, save or delete tokens."""


class InvalidCallback(CitizenryError):
    """The redirect to the callback has the wrong ``state`` or ``iss``, or no ``code``."""


class AuthorizationDenied(CitizenryError):
    """The redirect to the callback carries an OAuth ``error`` (RFC 6749 section 4.1.2.1)."""

    def __init__(self, *, error: str, description: str | None) -> None:
        self.error = error
        self.description = description
        detail = f": {description}" if description else ""
        super().__init__(f"the authorization request failed with {error}{detail}")


class UnexpectedResponse(CitizenryError):
    """A success response whose body is not what the endpoint documents."""


class ResponseError(CitizenryError):
    """An error response from the server.

    ``code`` is the API's ``code`` or the OAuth ``error`` value (None when the body has neither),
    ``message`` the server's ``message`` or ``error_description``, and ``body`` the parsed JSON body
    (None when it is not JSON).
    """

    #: The wire value this class stands for; the base classes stand for any value.
    wire_code: ClassVar[str | None] = None

    def __init__(
        self,
        *,
        status_code: int,
        code: str | None,
        message: str | None,
        body: Any,
        method: str,
        path: str,
    ) -> None:
        self.status_code = status_code
        self.code = code
        self.message = message
        self.body = body
        self.method = method
        self.path = path
        summary = f"{method} {path} failed with {status_code}"
        if code:
            summary += f" {code}"
        if message:
            summary += f": {message}"
        super().__init__(summary)


class RateLimited(ResponseError):
    """429 Too Many Requests, after the client's retries ran out.

    ``retry_after`` is the delay the server asked for in seconds, or None without ``Retry-After``.
    """

    wire_code = "rate_limited"

    def __init__(self, *, retry_after: float | None, **fields: Any) -> None:
        self.retry_after = retry_after
        super().__init__(**fields)


class ApiError(ResponseError):
    """An API error; its subclasses stand for the ``code`` values Citizenry and NationBuilder send."""


class BadRequest(ApiError):
    wire_code = "bad_request"


class MissingParameters(ApiError):
    """A required parameter or body root key is missing; ``parameters`` names them."""

    wire_code = "missing_parameters"

    @property
    def parameters(self) -> list[str]:
        values = self.body.get("parameters") if isinstance(self.body, dict) else None
        return [str(value) for value in values] if isinstance(values, list) else []


class ValidationFailed(ApiError):
    """The values of a write are invalid; ``validation_errors`` lists each problem."""

    wire_code = "validation_failed"

    @property
    def validation_errors(self) -> list[str]:
        values = self.body.get("validation_errors") if isinstance(self.body, dict) else None
        return [str(value) for value in values] if isinstance(values, list) else []


class NoMatches(ApiError):
    wire_code = "no_matches"


class MultipleMatches(ApiError):
    wire_code = "multiple_matches"


class Unauthorized(ApiError):
    """401: the token is missing, invalid, expired or revoked, or its owner lacks the permission."""

    wire_code = "unauthorized"


class InsufficientScope(ApiError):
    """403 in the strict profile: the token's owner lacks the permission level."""

    wire_code = "insufficient_scope"


class Forbidden(ApiError):
    """403 with any other ``code``."""

    wire_code = "forbidden"


class NotFound(ApiError):
    wire_code = "not_found"


class NotAcceptable(ApiError):
    """406: the request's ``Accept`` header excludes JSON."""

    wire_code = "not_acceptable"


class UnsupportedMediaType(ApiError):
    """415: a request body that is not ``application/json``."""

    wire_code = "unsupported_media_type"


class ServiceUnavailable(ApiError):
    wire_code = "service_unavailable"


class ServerError(ApiError):
    """A 5xx response without a ``code`` that maps to one of these classes."""


class OAuthError(ResponseError):
    """An OAuth error (RFC 6749 section 5.2); its subclasses stand for the ``error`` values."""


class InvalidRequest(OAuthError):
    wire_code = "invalid_request"


class InvalidClient(OAuthError):
    """The app's credentials were rejected: unknown ``client_id`` or wrong secret."""

    wire_code = "invalid_client"


class InvalidGrant(OAuthError):
    """The code or refresh token is invalid, expired, revoked or already used: authorize again."""

    wire_code = "invalid_grant"


class UnauthorizedClient(OAuthError):
    wire_code = "unauthorized_client"


class UnsupportedGrantType(OAuthError):
    wire_code = "unsupported_grant_type"


class InvalidScope(OAuthError):
    wire_code = "invalid_scope"


class UnsupportedTokenType(OAuthError):
    wire_code = "unsupported_token_type"


class TemporarilyUnavailable(OAuthError):
    wire_code = "temporarily_unavailable"


def _by_wire_code(*classes: type[ResponseError]) -> dict[str, type[ResponseError]]:
    return {cls.wire_code: cls for cls in classes if cls.wire_code is not None}


API_ERRORS = _by_wire_code(
    BadRequest,
    MissingParameters,
    ValidationFailed,
    NoMatches,
    MultipleMatches,
    Unauthorized,
    InsufficientScope,
    Forbidden,
    NotFound,
    NotAcceptable,
    UnsupportedMediaType,
    ServiceUnavailable,
    RateLimited,
)
OAUTH_ERRORS = _by_wire_code(
    InvalidRequest,
    InvalidClient,
    InvalidGrant,
    UnauthorizedClient,
    UnsupportedGrantType,
    InvalidScope,
    UnsupportedTokenType,
    TemporarilyUnavailable,
    RateLimited,
)
# The class for a body without a known code, by status.
BY_STATUS: dict[int, type[ResponseError]] = {
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    406: NotAcceptable,
    415: UnsupportedMediaType,
    429: RateLimited,
    503: ServiceUnavailable,
}


def retry_after_seconds(response: httpx2.Response, *, now: float | None = None) -> float | None:
    """Read ``Retry-After`` as seconds: a number, or an HTTP date (RFC 9110 section 10.2.3)."""
    value = response.headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    current = time.time() if now is None else now
    return max(0.0, moment.timestamp() - current)


def _json_body(response: httpx2.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _error_class(status: int, body: Any) -> tuple[type[ResponseError], str | None, str | None]:
    """Pick the class for an error response, with the body's code and message."""
    if isinstance(body, dict) and isinstance(body.get("code"), str):
        code: str = body["code"]
        message = body.get("message")
        api_class = API_ERRORS.get(code)
        if api_class is None:
            api_class = ServerError if status >= 500 else BY_STATUS.get(status, ApiError)
        return api_class, code, message if isinstance(message, str) else None

    if isinstance(body, dict) and isinstance(body.get("error"), str):
        error: str = body["error"]
        description = body.get("error_description")
        oauth_class = OAUTH_ERRORS.get(error, RateLimited if status == 429 else OAuthError)
        return oauth_class, error, description if isinstance(description, str) else None

    fallback = ServerError if status >= 500 and status != 503 else BY_STATUS.get(status, ApiError)
    return fallback, None, None


def error_from_response(response: httpx2.Response) -> ResponseError:
    """Build the exception for an error response, from its ``code`` or ``error``, else its status."""
    body = _json_body(response)
    cls, code, message = _error_class(response.status_code, body)
    fields: dict[str, Any] = {
        "status_code": response.status_code,
        "code": code,
        "message": message,
        "body": body,
        "method": response.request.method,
        "path": response.request.url.path,
    }
    if issubclass(cls, RateLimited):
        return cls(retry_after=retry_after_seconds(response), **fields)
    return cls(**fields)
