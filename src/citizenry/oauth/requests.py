"""The adapter from a Starlette request to Authlib's ``OAuth2Request``.

Bodies are read in the async handler; everything after that runs on a worker thread.
The token endpoint accepts, as NationBuilder's clients send them:

* ``application/x-www-form-urlencoded`` bodies (RFC 6749 section 3.2);
* ``application/json`` bodies whose values are all strings (NationBuilder's own guide uses these);
* an empty body with the parameters in the query string (NationBuilder's iOS SDK does this).
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from authlib.oauth2.rfc6749 import OAuth2Request
from authlib.oauth2.rfc6749.errors import InvalidRequestError
from authlib.oauth2.rfc6749.requests import OAuth2Payload
from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request

#: The largest token request body accepted, in bytes. Real requests are under 1 KiB.
MAX_TOKEN_BODY_BYTES = 16 * 1024

Pairs = list[tuple[str, str]]


class PairsPayload(OAuth2Payload):  # type: ignore[misc]
    """Request parameters that keep every value of a repeated name, so repeats can be refused."""

    def __init__(self, pairs: Pairs) -> None:
        self._datalist: defaultdict[str, list[str]] = defaultdict(list)
        for key, value in pairs:
            self._datalist[key].append(value)
        # A parameter sent with an empty value counts as absent (RFC 6749 section 3.1).
        self._data = {k: v[0] for k, v in self._datalist.items() if v[0] != ""}

    @property
    def data(self) -> dict[str, str]:
        return self._data

    @property
    def datalist(self) -> defaultdict[str, list[str]]:
        return self._datalist


class StarletteOAuth2Request(OAuth2Request):  # type: ignore[misc]
    """An ``OAuth2Request`` built from already-read parameters; it does no I/O of its own."""

    def __init__(
        self,
        method: str,
        uri: str,
        headers: dict[str, str],
        query: Pairs,
        body: Pairs,
        encoding: str = "form",
    ):
        super().__init__(method, uri, headers=headers)
        self._args = PairsPayload(query).data
        self._form = PairsPayload(body).data
        self.payload = PairsPayload(query + body)
        #: Where a token request's parameters came from: "form", "json", "query" or "none".
        self.encoding = encoding
        #: Query-string parameters that came with a body, and so were not read.
        self.ignored_query: dict[str, str] = {}

    @property
    def args(self) -> dict[str, str]:
        return self._args

    @property
    def form(self) -> dict[str, str]:
        return self._form


@dataclass
class OAuthResponse:
    """A response built by Authlib, turned into a Starlette response by the async handler."""

    status: int
    body: Any
    headers: list[tuple[str, str]] = field(default_factory=list)

    @property
    def location(self) -> str | None:
        return next((v for k, v in self.headers if k.lower() == "location"), None)

    @location.setter
    def location(self, value: str) -> None:
        self.headers = [(k, v) for k, v in self.headers if k.lower() != "location"]
        self.headers.append(("Location", value))


def _headers(request: Request) -> dict[str, str]:
    # Authlib looks headers up by their canonical names ("Authorization"); Starlette's are
    # case-insensitive, so copy them into a mapping that is case-insensitive too.
    return _CaseInsensitiveDict(request.headers.items())


class _CaseInsensitiveDict(dict[str, str]):
    def __init__(self, items: Any) -> None:
        super().__init__((k.lower(), v) for k, v in items)

    def get(self, key: str, default: Any = None) -> Any:
        return super().get(key.lower(), default)

    def __getitem__(self, key: str) -> str:
        return super().__getitem__(key.lower())

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and super().__contains__(key.lower())


#: Parameters whose values are protocol words: printable ASCII without spaces (RFC 6749 appendix A).
WORD_PARAMETERS = frozenset({"response_type", "grant_type", "code_challenge_method", "token_type_hint"})


def validate_parameters(pairs: Pairs) -> None:
    """Reject array- or hash-shaped names (``scope[a]=b``) and protocol words with odd characters."""
    for key, value in pairs:
        if "[" in key or "]" in key:
            raise InvalidRequestError(
                f"Parameter '{_ascii(key)}' is not an OAuth parameter; send plain names."
            )
        if key in WORD_PARAMETERS and not all(0x21 <= ord(ch) <= 0x7E for ch in value):
            raise InvalidRequestError(f"Parameter '{key}' has an invalid value.")


def authorization_request(request: Request, query: Pairs | None = None) -> StarletteOAuth2Request:
    """Build the request for the authorization endpoint from ``query`` (the URL's by default)."""
    pairs = list(request.query_params.multi_items()) if query is None else query
    validate_parameters(pairs)
    return StarletteOAuth2Request("GET", str(request.url), _headers(request), pairs, [])


def _form_pairs(form: FormData) -> Pairs:
    pairs: Pairs = []
    for key, value in form.multi_items():
        if isinstance(value, UploadFile):
            raise InvalidRequestError("File uploads are not accepted here.")
        pairs.append((key, value))
    return pairs


def _json_pairs(raw: bytes) -> Pairs:
    try:
        document = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise InvalidRequestError("The request body is not valid JSON.") from None
    if not isinstance(document, dict):
        raise InvalidRequestError("The JSON request body must be an object.")
    for key, value in document.items():
        if not isinstance(value, str):
            raise InvalidRequestError(f"The JSON member '{_ascii(key)}' must be a string.")
    return list(document.items())


def _ascii(text: str) -> str:
    """Keep an error description within the characters RFC 6749 section 5.2 allows."""
    return "".join(ch if 0x20 <= ord(ch) <= 0x7E and ch not in '"\\' else "?" for ch in text)[:64]


async def token_request(request: Request) -> StarletteOAuth2Request:
    """Read a token endpoint request, or raise ``InvalidRequestError`` for a body it cannot take."""
    raw = await request.body()
    if len(raw) > MAX_TOKEN_BODY_BYTES:
        raise InvalidRequestError("The request body is too large.")
    query = list(request.query_params.multi_items())
    media_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()

    encoding = media_type_encoding = "none"
    if not raw.strip():
        body: Pairs = []
    elif media_type == "application/x-www-form-urlencoded":
        media_type_encoding = "form"
        try:
            body = _form_pairs(await request.form())
        except UnicodeDecodeError:
            raise InvalidRequestError("The form body is not valid UTF-8.") from None
    elif media_type == "application/json":
        media_type_encoding = "json"
        body = _json_pairs(raw)
    else:
        raise InvalidRequestError(
            "Send the parameters as application/x-www-form-urlencoded or application/json."
        )

    # Parameters come from the body, or from the query string when the body is empty, never both.
    params = body if body else query
    if body:
        encoding = media_type_encoding
    elif query:
        encoding = "query"
    validate_parameters(params)
    names = [key for key, _ in params]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise InvalidRequestError(f"Repeated parameter '{_ascii(repeated[0])}'.")
    oauth_request = StarletteOAuth2Request("POST", str(request.url), _headers(request), [], params, encoding)
    if body:
        oauth_request.ignored_query = dict(query)
    return oauth_request
