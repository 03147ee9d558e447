"""The compatible and strict OAuth profiles.

The compatible profile (the default) keeps what NationBuilder's clients rely on: JSON and
query-string token requests, optional PKCE for confidential apps, ``?access_token=`` on the API,
and 401 for a token whose owner lacks the permission. The strict profile, switched on for a
nation or an app, follows OAuth 2.1: form bodies only, PKCE with S256 for every app, bearer
tokens in the header only, and 403 ``insufficient_scope``.
"""

from __future__ import annotations

import hmac
from types import MappingProxyType
from typing import Any
from urllib.parse import urlsplit

from authlib.oauth2.rfc6749.errors import InvalidGrantError, InvalidRequestError
from authlib.oauth2.rfc7636 import CodeChallenge, create_s256_code_challenge

from citizenry.oauth.apps import OAuthClient, is_loopback_host
from citizenry.store.models import Nation


def is_strict(nation: Nation, client: OAuthClient | None) -> bool:
    return nation.strict_profile or (client is not None and client.strict_profile)


def validate_token_request_encoding(request: Any, *, strict: bool) -> None:
    """Check where a token, revocation or introspection request put its parameters."""
    if strict and (request.encoding != "form" or request.ignored_query):
        raise InvalidRequestError(
            "Send the parameters as an application/x-www-form-urlencoded body, with no query string."
        )
    if "client_secret" in request.ignored_query:
        raise InvalidRequestError("Send the client secret in the body or by HTTP Basic, not in the URL.")
    if request.encoding == "query" and "client_secret" in request.form:
        parts = urlsplit(request.uri)
        if parts.scheme != "https" and not is_loopback_host(parts.hostname):
            raise InvalidRequestError(
                "Client credentials in the query string are accepted only over https or on a "
                "loopback address."
            )


class PkcePolicy(CodeChallenge):  # type: ignore[misc]
    """Authlib's PKCE (RFC 7636) with Citizenry's rules on top.

    A challenge is required for public apps and in the strict profile. The method ``plain``
    (also what a missing method means) is accepted only for apps that allow it, and never in the
    strict profile. At the token endpoint a verifier for a code issued without a challenge, and a
    missing verifier for a code issued with one, are both ``invalid_grant`` (RFC 9700 section 4.8.2).
    """

    # Authlib compares with ==; these compare in constant time (RFC 7636 section 4.6).
    CODE_CHALLENGE_METHODS = MappingProxyType(
        {
            "plain": lambda verifier, challenge: hmac.compare_digest(verifier.encode(), challenge.encode()),
            "S256": lambda verifier, challenge: hmac.compare_digest(
                create_s256_code_challenge(verifier).encode(), challenge.encode()
            ),
        }
    )

    def validate_code_challenge(self, grant: Any, redirect_uri: str) -> None:
        client: OAuthClient = grant.request.client
        strict = is_strict(grant.server.nation, client)
        data = grant.request.payload.data
        challenge = data.get("code_challenge")
        if not challenge and (client.is_public or strict):
            raise InvalidRequestError(
                "This app must use PKCE: send code_challenge with code_challenge_method=S256."
            )
        method = data.get("code_challenge_method") or "plain"
        if challenge and method == "plain" and (strict or not client.allow_plain_pkce):
            raise InvalidRequestError("Use code_challenge_method=S256.")
        super().validate_code_challenge(grant, redirect_uri)

    def validate_code_verifier(self, grant: Any, result: Any) -> None:
        """Reject both PKCE downgrades with ``invalid_grant``, then let Authlib check the verifier."""
        challenge = self.get_authorization_code_challenge(grant.request.authorization_code)
        verifier = grant.request.form.get("code_verifier")
        if verifier and not challenge:
            raise InvalidGrantError("The code was issued without a code_challenge; send no code_verifier.")
        if challenge and not verifier:
            raise InvalidGrantError("The code was issued with a code_challenge; send its code_verifier.")
        super().validate_code_verifier(grant, result)
