"""A Python client for NationBuilder's API v1, and for any Citizenry server that serves it.

```python
from citizenry.client import AppCredentials, Client, default_token_store

app = AppCredentials("CLIENT_ID", "CLIENT_SECRET", redirect_uri="http://127.0.0.1:9000/callback")
with Client("http://127.0.0.1:8000/n/demo", app=app, token_store=default_token_store("demo")) as client:
    request = client.authorization_request()        # open request.url in a browser
    client.complete_authorization(callback_url, request)
    for person in client.search_people({"last_name": "Lovelace"}, limit=100):
        print(person["id"], person["email"])
```

:class:`AsyncClient` has the same methods, to await (listings are async iterators). This package
imports nothing from the Citizenry server.
"""

from citizenry.client.aio import AsyncClient
from citizenry.client.engine import Options
from citizenry.client.errors import (
    ApiError,
    AuthorizationDenied,
    BadRequest,
    CitizenryError,
    Forbidden,
    InsufficientScope,
    InvalidCallback,
    InvalidClient,
    InvalidGrant,
    InvalidRequest,
    InvalidScope,
    MissingParameters,
    MultipleMatches,
    NoMatches,
    NotAcceptable,
    NotAuthenticated,
    NotFound,
    OAuthError,
    RateLimited,
    RequestTimeout,
    ResponseError,
    ServerError,
    ServiceUnavailable,
    TemporarilyUnavailable,
    TokenStoreError,
    TransportError,
    Unauthorized,
    UnauthorizedClient,
    UnexpectedResponse,
    UnsupportedGrantType,
    UnsupportedMediaType,
    UnsupportedTokenType,
    ValidationFailed,
)
from citizenry.client.oauth import AuthorizationRequest, code_challenge
from citizenry.client.people import PushResult
from citizenry.client.stores import (
    TOKEN_ENV_VAR,
    EnvTokenStore,
    FileTokenStore,
    KeyringTokenStore,
    MemoryTokenStore,
    TokenStore,
    default_token_path,
    default_token_store,
    is_usable_keyring,
)
from citizenry.client.sync import Client
from citizenry.client.tokens import AppCredentials, TokenSet

__all__ = [
    "TOKEN_ENV_VAR",
    "ApiError",
    "AppCredentials",
    "AsyncClient",
    "AuthorizationDenied",
    "AuthorizationRequest",
    "BadRequest",
    "CitizenryError",
    "Client",
    "EnvTokenStore",
    "FileTokenStore",
    "Forbidden",
    "InsufficientScope",
    "InvalidCallback",
    "InvalidClient",
    "InvalidGrant",
    "InvalidRequest",
    "InvalidScope",
    "KeyringTokenStore",
    "MemoryTokenStore",
    "MissingParameters",
    "MultipleMatches",
    "NoMatches",
    "NotAcceptable",
    "NotAuthenticated",
    "NotFound",
    "OAuthError",
    "Options",
    "PushResult",
    "RateLimited",
    "RequestTimeout",
    "ResponseError",
    "ServerError",
    "ServiceUnavailable",
    "TemporarilyUnavailable",
    "TokenSet",
    "TokenStore",
    "TokenStoreError",
    "TransportError",
    "Unauthorized",
    "UnauthorizedClient",
    "UnexpectedResponse",
    "UnsupportedGrantType",
    "UnsupportedMediaType",
    "UnsupportedTokenType",
    "ValidationFailed",
    "code_challenge",
    "default_token_path",
    "default_token_store",
    "is_usable_keyring",
]
